"""Real Chromium screenshots of simple dialogs for `npm run eval` (evals/chromium.jsonl).

    python3 evals/chromium/make.py          (needs /usr/bin/chromium; writes evals/chromium/*.png and evals/chromium.jsonl)

Each dialog is a small HTML page (title bar, message lines, buttons) rendered by headless Chromium with the
system's fonts; the expected transcription uses the training format: title, message lines, then "[Button] ...".
"""
import html, json, os, subprocess, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DIALOGS = [
    ("Save changes", ["Do you want to save the changes to report.docx?"], ["Don't Save", "Cancel", "Save"], "light"),
    ("Delete files", ["Delete 14 items?", "This cannot be undone."], ["Cancel", "Delete"], "light"),
    ("Update available", ["Version 4.2 is ready to install."], ["Later", "Install"], "dark"),
    ("Connection failed", ["Could not connect to mail.example.com.", "Error 503."], ["Retry"], "light"),
    ("Sign in", ["Password for Maria Lopez:"], ["Cancel", "Sign in"], "dark"),
    ("Battery", ["Battery low: 7% remaining."], ["OK"], "light"),
    ("Download complete", ["The file photos.zip was saved to Downloads."], ["Open", "Close"], "light"),
    ("Order 48213", ["Total: $37.50", "Status: Shipped"], ["Done"], "dark"),
    ("Calendar", ["Meeting with Omar King at 3:15."], ["Snooze", "Dismiss"], "light"),
    ("Terminal", ["Process exited with code 127."], ["Close"], "dark"),
]
CSS = {"light": ("#f6f6f8", "#1e1e1e", "#e4e4e8", "#2563eb"), "dark": ("#24262b", "#ececec", "#1b1c20", "#16a34a")}


def page(title, lines, buttons, theme):
    bg, fg, bar, accent = CSS[theme]
    btns = "".join(f'<button class="{"p" if i == len(buttons) - 1 else ""}">{html.escape(b)}</button>' for i, b in enumerate(buttons))
    body = "".join(f"<p>{html.escape(l)}</p>" for l in lines)
    return f"""<!doctype html><meta charset="utf-8"><style>
body{{margin:0;background:{bg};color:{fg};font:16px sans-serif}} .bar{{background:{bar};padding:6px 12px;font-size:14px;text-align:center}}
.c{{padding:14px 18px}} p{{margin:0 0 6px}} .b{{text-align:right;padding:0 18px 14px}}
button{{font:15px sans-serif;padding:5px 12px;margin-left:8px;border:1px solid #999;border-radius:5px;background:#ddd;color:#111}}
button.p{{background:{accent};color:#fff;border-color:{accent}}}</style>
<div class="bar">{html.escape(title)}</div><div class="c">{body}</div><div class="b">{btns}</div>"""


def main():
    tasks = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (title, lines, buttons, theme) in enumerate(DIALOGS):
            src = os.path.join(tmp, f"d{i}.html")
            open(src, "w").write(page(title, lines, buttons, theme))
            png = os.path.join(HERE, f"dialog-{i:02d}.png")
            h = 64 + 26 * len(lines) + 40
            subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--window-size=440,{h}", f"--screenshot={png}", "file://" + src],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            text = "\n".join([title] + lines + [" ".join(f"[{b}]" for b in buttons)])
            tasks.append({"id": f"chromium-{i:02d}", "messages": [{"role": "user", "content": [
                {"type": "image", "path": f"chromium/dialog-{i:02d}.png"},
                {"type": "text", "text": "Transcribe the text in this screenshot."}]}], "expect": {"text": text}})
    with open(os.path.join(HERE, "..", "chromium.jsonl"), "w") as f:
        for t in tasks:
            f.write(json.dumps(t) + "\n")
    print(len(tasks), "screenshots")


if __name__ == "__main__":
    main()
