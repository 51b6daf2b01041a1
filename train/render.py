"""Synthetic screenshots with PIL: a window (title bar, then a dialog, paragraph, code, form or list) on a desktop,
light or dark, many fonts and sizes, with random names, codes and numbers so that the model has to read them.

render(rng, fonts, words) -> (PIL.Image, info) where info has "title", "lines" (the body text in reading order),
"buttons" and "kind"; transcript(info) is the text a reader should produce.
"""
import random
from PIL import Image, ImageDraw, ImageFont

BUTTONS = ["OK", "Cancel", "Yes", "No", "Save", "Don't Save", "Retry", "Close", "Continue", "Delete", "Open", "Apply",
           "Back", "Next", "Allow", "Block", "Sign in", "Submit", "Install", "Update", "Skip", "Later", "Done",
           "Accept", "Decline", "Send", "Upload", "Export", "Print", "Search", "Reset", "Undo", "Replace", "Keep"]
APPS = ["Settings", "Files", "Mail", "Calendar", "Notes", "Terminal", "Editor", "Browser", "Photos", "Music",
        "Downloads", "Preferences", "Installer", "Calculator", "Weather", "Maps", "Contacts", "Tasks", "Reports"]
MESSAGES = ["Do you want to save the changes to {f}?", "The file {f} could not be opened.", "Delete {n} items?",
            "Your session expires in {n} minutes.", "A new version ({v}) is available.", "Connection to {h} failed.",
            "Are you sure you want to quit?", "{n} files were copied to {d}.", "Password for {u}:",
            "Error {c}: access denied.", "The download of {f} is complete.", "Replace the existing file {f}?",
            "Battery low: {n}% remaining.", "Enter the code {c} to continue.", "Printing page {n} of {m}.",
            "Invoice {c} was sent to {u}.", "Disk {d} is almost full.", "Meeting with {u} at {t}.",
            "You have {n} unread messages.", "Update {v} installed successfully.", "Order {c} ships on {dt}."]
FIELDS = ["Name", "Email", "Phone", "Order", "Total", "Date", "City", "Account", "Amount", "Status", "Code", "ID",
          "Price", "Quantity", "Time", "Owner", "Size", "Version", "Host", "Port", "User", "Country", "Score"]
FIRST = ["Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Irene", "Jack", "Karen", "Leo",
         "Maria", "Nina", "Oscar", "Paul", "Rosa", "Sam", "Tara", "Victor", "Wendy", "Yusuf", "Zoe", "Omar", "Lena"]
LAST = ["Smith", "Jones", "Brown", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore", "Taylor", "Clark",
        "Lewis", "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill"]
EXT = ["txt", "pdf", "docx", "png", "csv", "json", "py", "js", "md", "zip", "xlsx", "html"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def rand_code(rng):
    a = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    k = rng.randint(0, 3)
    if k == 0:
        return "".join(rng.choice(a) for _ in range(rng.randint(2, 3))) + "-" + str(rng.randint(100, 99999))
    if k == 1:
        return str(rng.randint(1000, 999999))
    if k == 2:
        return "".join(rng.choice(a + "0123456789") for _ in range(rng.randint(4, 8)))
    return "#" + str(rng.randint(10, 9999))


def rand_value(rng, field, words):
    if field in ("Name", "Owner", "User"):
        return f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    if field == "Email":
        return f"{rng.choice(FIRST).lower()}.{rng.choice(LAST).lower()}@{rng.choice(words)}.com"
    if field in ("Total", "Amount", "Price"):
        return f"${rng.randint(1, 9999)}.{rng.randint(0, 99):02d}"
    if field == "Date":
        return f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(1990, 2030)}"
    if field == "Time":
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    if field == "Phone":
        return f"{rng.randint(100, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    if field in ("Status",):
        return rng.choice(["Active", "Pending", "Shipped", "Failed", "Paid", "Open", "Closed"])
    if field == "Country":
        return rng.choice(["France", "Japan", "Brazil", "Kenya", "Canada", "India", "Spain", "Norway", "Peru"])
    if field in ("Version",):
        return f"{rng.randint(0, 12)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    if field in ("Size",):
        return f"{rng.randint(1, 999)} {rng.choice(['KB', 'MB', 'GB'])}"
    if field in ("Host",):
        return f"{rng.choice(words)}.{rng.choice(['com', 'org', 'net', 'local'])}"
    if field in ("City",):
        return rng.choice(words).capitalize()
    return rand_code(rng) if rng.random() < 0.5 else str(rng.randint(0, 99999))


def fill(rng, template, words):
    return template.format(f=f"{rng.choice(words)}.{rng.choice(EXT)}", n=rng.randint(2, 99), m=rng.randint(100, 999),
                           v=f"{rng.randint(1, 9)}.{rng.randint(0, 20)}", h=f"{rng.choice(words)}.com",
                           d=rng.choice(["Documents", "Desktop", "Backup", "USB", "Projects", "C:", "D:"]),
                           u=f"{rng.choice(FIRST)} {rng.choice(LAST)}", c=rand_code(rng),
                           t=f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d}", dt=f"{rng.randint(1, 28)} {rng.choice(MONTHS)}")


def code_lines(rng, words):
    name = lambda: rng.choice(words).replace("-", "_").replace("'", "").replace(" ", "_")  # noqa: E731
    out, lang = [], rng.choice(["py", "js"])
    f = name()
    if lang == "py":
        out.append(f"def {f}({name()}, {name()}={rng.randint(0, 99)}):")
        for _ in range(rng.randint(2, 6)):
            k = rng.randint(0, 3)
            out.append(["    {a} = {b} + {n}", "    if {a} > {n}:", "    return {a} * {n}", "    print('{w} {n}')"][k]
                       .format(a=name(), b=name(), n=rng.randint(0, 999), w=rng.choice(words)))
    else:
        out.append(f"function {f}({name()}) {{")
        for _ in range(rng.randint(2, 6)):
            k = rng.randint(0, 3)
            out.append(["  const {a} = {b} + {n};", "  if ({a} > {n}) {{", "  return {a} * {n};", "  console.log('{w}', {n});"][k]
                       .format(a=name(), b=name(), n=rng.randint(0, 999), w=rng.choice(words)))
        out.append("}")
    return out


def wrap(draw, text, font, width):
    lines, cur = [], ""
    for w in text.split():
        t = (cur + " " + w).strip()
        if draw.textlength(t, font=font) <= width or not cur:
            cur = t
        else:
            lines.append(cur); cur = w
    if cur:
        lines.append(cur)
    return lines


def theme(rng):
    dark = rng.random() < 0.4
    accent = rng.choice([(37, 99, 235), (22, 163, 74), (220, 38, 38), (147, 51, 234), (234, 88, 12), (8, 145, 178)])
    if dark:
        bg = tuple(rng.randint(18, 45) for _ in range(3))
        return dict(bg=bg, fg=(rng.randint(200, 255),) * 3, title_bg=tuple(max(0, c - 10) for c in bg),
                    title_fg=(230, 230, 230), button_bg=tuple(min(255, c + 30) for c in bg), accent=accent,
                    desk=tuple(rng.randint(0, 80) for _ in range(3)), border=(80, 80, 80))
    bg = tuple(rng.randint(235, 255) for _ in range(3))
    return dict(bg=bg, fg=(rng.randint(0, 60),) * 3, title_bg=rng.choice([(225, 225, 230), accent, (240, 240, 240)]),
                title_fg=(20, 20, 20), button_bg=(225, 225, 228), accent=accent,
                desk=tuple(rng.randint(90, 230) for _ in range(3)), border=(170, 170, 170))


def render(rng: random.Random, fonts, words, prose=None):
    """fonts: {"sans": [paths], "serif": [...], "mono": [...]}; words: a list of easy words; prose: sentences."""
    th = theme(rng)
    kind = rng.choice(["dialog", "dialog", "paragraph", "code", "form", "list"])
    size = rng.randint(13, 22)
    body_font = ImageFont.truetype(rng.choice(fonts["mono"] if kind == "code" else fonts["sans"] + fonts["serif"][:1]), size)
    title_font = ImageFont.truetype(rng.choice(fonts["sans"]), max(12, size - rng.randint(0, 3)))
    W = rng.randint(260, 900)
    pad = rng.randint(10, 24)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    title = rng.choice(APPS) if rng.random() < 0.5 else f"{rng.choice(words).capitalize()} - {rng.choice(APPS)}"
    if rng.random() < 0.3:
        title = f"{rng.choice(words)}.{rng.choice(EXT)} - {rng.choice(APPS)}"
    lines, buttons = [], []
    if kind == "dialog":
        msg = fill(rng, rng.choice(MESSAGES), words)
        if rng.random() < 0.5 and prose:
            msg += " " + rng.choice(prose)[:120].rsplit(" ", 1)[0] + "."
        lines = wrap(probe, msg, body_font, W - 2 * pad)
        buttons = rng.sample(BUTTONS, rng.randint(1, 3))
    elif kind == "paragraph":
        text = " ".join(rng.choice(prose) for _ in range(2)) if prose else " ".join(rng.choice(words) for _ in range(40))
        text = text[: rng.randint(60, 400)].rsplit(" ", 1)[0]
        lines = wrap(probe, text, body_font, W - 2 * pad)[:8]
    elif kind == "code":
        lines = code_lines(rng, words)
    elif kind == "form":
        lines = [f"{f}: {rand_value(rng, f, words)}" for f in rng.sample(FIELDS, rng.randint(2, 6))]
        if rng.random() < 0.5:
            buttons = rng.sample(BUTTONS, rng.randint(1, 2))
    else:
        lines = [rng.choice(words).capitalize() + (f" ({rng.randint(1, 99)})" if rng.random() < 0.4 else "") for _ in range(rng.randint(3, 7))]
    # the window must hold its widest line
    W = int(max([W] + [probe.textlength(l, font=body_font) + 2 * pad for l in lines] + [probe.textlength(title, font=title_font) + 80]))
    lh = int(size * rng.uniform(1.25, 1.6))
    tb = rng.randint(24, 34)
    bh = size + 14 if buttons else 0
    H = tb + pad + lh * len(lines) + (pad + bh if buttons else 0) + pad
    margin = rng.choice([0, 0, rng.randint(8, 60)])
    img = Image.new("RGB", (W + 2 * margin, H + 2 * margin), th["desk"])
    d = ImageDraw.Draw(img)
    x0, y0 = margin, margin
    d.rectangle([x0, y0, x0 + W - 1, y0 + H - 1], fill=th["bg"], outline=th["border"])
    d.rectangle([x0, y0, x0 + W - 1, y0 + tb], fill=th["title_bg"])
    tfg = (255, 255, 255) if th["title_bg"] == th["accent"] else th["title_fg"]
    tw = d.textlength(title, font=title_font)
    tx = x0 + (W - tw) / 2 if rng.random() < 0.5 else x0 + 10
    if rng.random() < 0.5:  # window controls
        for i in range(3):
            cx = x0 + W - 18 - 20 * i
            d.ellipse([cx - 5, y0 + tb / 2 - 5, cx + 5, y0 + tb / 2 + 5], fill=[(237, 106, 94), (245, 191, 79), (98, 197, 84)][i])
        tx = min(tx, x0 + W - 80 - tw)
    d.text((tx, y0 + (tb - title_font.size) / 2 - 1), title, font=title_font, fill=tfg)
    y = y0 + tb + pad
    for l in lines:
        d.text((x0 + pad, y), l, font=body_font, fill=th["fg"])
        y += lh
    if buttons:
        bx = x0 + W - pad
        by = y0 + H - pad - bh
        for i, b in enumerate(reversed(buttons)):
            bw = d.textlength(b, font=body_font) + 24
            primary = i == 0
            d.rounded_rectangle([bx - bw, by, bx, by + bh], radius=rng.randint(0, 8),
                                fill=th["accent"] if primary else th["button_bg"], outline=th["border"])
            d.text((bx - bw + 12, by + 7), b, font=body_font, fill=(255, 255, 255) if primary else th["fg"])
            bx -= bw + 10
    return img, dict(kind=kind, title=title, lines=lines, buttons=buttons)


def transcript(info):
    return "\n".join([info["title"]] + info["lines"] + ([" ".join(f"[{b}]" for b in info["buttons"])] if info["buttons"] else []))


def crop_text(rng, words):
    """One short string to read: a word, a name, a number, a code, a price, a date, a time, a file or a button."""
    k = rng.randint(0, 9)
    if k == 0:
        return rng.choice(words)
    if k == 1:
        return rng.choice(words).capitalize() + " " + rng.choice(words)
    if k == 2:
        return f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    if k == 3:
        return str(rng.randint(0, 99999))
    if k == 4:
        return rand_code(rng)
    if k == 5:
        return f"${rng.randint(1, 999)}.{rng.randint(0, 99):02d}"
    if k == 6:
        return f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(1990, 2030)}" if rng.random() < 0.5 else \
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
    if k == 7:
        return f"{rng.choice(words)}.{rng.choice(EXT)}"
    if k == 8:
        return rng.choice(BUTTONS)
    f = rng.choice(FIELDS)
    return f"{f}: {rand_value(rng, f, words)}"


def fitted_crop_text(rng, words, probe, font, width):
    """crop_text cut from the end until it fits `width` pixels in `font`."""
    t = crop_text(rng, words)
    while len(t) > 1 and probe.textlength(t, font=font) > width:
        t = t[:-1].rstrip()
    return t


GLYPHS = "".join(chr(c) for c in range(33, 127))  # the glyph head's classes (printable ASCII but space), + background
CELLS = 12  # a tile's image tokens: 12 x 12 cells of 28 x 28 px, in row-major order (HF's pixel shuffle keeps it)
IGNORE = -100  # a cell under a character outside GLYPHS


def char_boxes(d, text, x, y, font):
    """(char, x0, y0, x1, y1) of each non-space character of one line drawn at (x, y)."""
    return [(ch, *d.textbbox((x + d.textlength(text[:i], font=font), y), ch, font=font)) for i, ch in enumerate(text) if ch != " "]


def cell_labels(boxes, size=336):
    """The targets of the glyph head (probe_reading.py and train.py --aux), one per image token of a single tile: the
    character whose ink covers the cell's centre (large type) or else, of the characters centred in the cell (small
    type: several per cell), the one nearest its centre, as an index in GLYPHS; len(GLYPHS) for background; IGNORE
    for a character outside GLYPHS. Characters centred off the tile are not in the image and label nothing."""
    step = size / CELLS
    out = [len(GLYPHS)] * (CELLS * CELLS)
    cls = lambda ch: GLYPHS.index(ch) if ch in GLYPHS else IGNORE
    nearest = {}
    for ch, x0, y0, x1, y1 in boxes:
        for r in range(max(0, int(y0 // step)), min(CELLS, int(y1 // step) + 1)):
            for c in range(max(0, int(x0 // step)), min(CELLS, int(x1 // step) + 1)):
                if x0 <= (c + 0.5) * step < x1 and y0 <= (r + 0.5) * step < y1:
                    out[r * CELLS + c] = cls(ch)
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        if not (0 <= mx < size and 0 <= my < size):
            continue
        r, c = int(my // step), int(mx // step)
        dist = abs(mx - (c + 0.5) * step) + abs(my - (r + 0.5) * step)
        if r * CELLS + c not in nearest or nearest[r * CELLS + c][0] > dist:
            nearest[r * CELLS + c] = (dist, ch)
    for cell, (_, ch) in nearest.items():
        if out[cell] == len(GLYPHS):
            out[cell] = cls(ch)
    return out


def render_crop(rng: random.Random, fonts, words, size=336):
    """The first step of the screenshot curriculum: one image tile (size x size, so the processor neither scales nor
    splits it) holding one or two lines of large text (26-48 px) on a plain or button-like background.
    Returns (image, lines); image.info["boxes"]: the characters' ink boxes (char_boxes)."""
    th = theme(rng)
    px = rng.randint(26, 48)
    font = ImageFont.truetype(rng.choice(fonts["sans"] + fonts["serif"] + fonts["mono"]), px)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lines = []
    for _ in range(1 if rng.random() < 0.6 else 2):
        lines.append(fitted_crop_text(rng, words, probe, font, size - 24))
    img = Image.new("RGB", (size, size), th["bg"])
    d = ImageDraw.Draw(img)
    lh = int(px * rng.uniform(1.2, 1.5))
    y = rng.randint(8, max(8, size - 8 - lh * len(lines)))
    box = rng.random() < 0.3  # drawn as a button
    boxes = []
    for t in lines:
        w = d.textlength(t, font=font)
        x = rng.randint(12, max(12, int(size - 12 - w)))
        fg = th["fg"]
        if box:
            d.rounded_rectangle([x - 10, y - 4, x + w + 10, y + lh], radius=rng.randint(0, 10), fill=th["accent"])
            fg = (255, 255, 255)
        d.text((x, y), t, font=font, fill=fg)
        boxes += char_boxes(d, t, x, y, font)
        y += lh
    img.info["boxes"] = boxes
    return img, lines


def rand_string(rng, words):
    """A short string that cannot be guessed: a word, a random letter/digit string or a number."""
    k = rng.randint(0, 3)
    if k == 0:
        return rng.choice(words)
    if k == 1:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(2, 7)))
    if k == 2:
        return str(rng.randint(0, 99999))
    return rand_code(rng)


def render_word(rng: random.Random, fonts, words, size=336):
    """Level 0 of the reading curriculum: one short string (a word, random letters, a number or a code) in very large
    type (40-72 px) on one tile, plain or on a button. Returns (image, [text]); image.info["boxes"] as render_crop."""
    th = theme(rng)
    px = rng.randint(40, 72)
    font = ImageFont.truetype(rng.choice(fonts["sans"] + fonts["serif"] + fonts["mono"]), px)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    t = rand_string(rng, words)
    while len(t) > 1 and probe.textlength(t, font=font) > size - 32:
        t = t[:-1]
    img = Image.new("RGB", (size, size), th["bg"])
    d = ImageDraw.Draw(img)
    w = d.textlength(t, font=font)
    x, y = rng.randint(16, max(16, int(size - 16 - w))), rng.randint(8, size - 8 - int(px * 1.3))
    fg = th["fg"]
    if rng.random() < 0.25:
        d.rounded_rectangle([x - 10, y - 4, x + w + 10, y + int(px * 1.3)], radius=rng.randint(0, 10), fill=th["accent"])
        fg = (255, 255, 255)
    d.text((x, y), t, font=font, fill=fg)
    img.info["boxes"] = char_boxes(d, t, x, y, font)
    return img, [t]


def render_lines(rng: random.Random, fonts, words, prose=None, size=336):
    """Level 2 of the reading curriculum: three to seven lines of 15-26 px text (prose, fields, names, codes) on one
    tile, the size of text in a window. Returns (image, lines); image.info["boxes"] as render_crop."""
    th = theme(rng)
    px = rng.randint(15, 26)
    font = ImageFont.truetype(rng.choice(fonts["sans"] + fonts["serif"] + fonts["mono"]), px)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lh = int(px * rng.uniform(1.2, 1.5))
    n = rng.randint(3, min(7, (size - 16) // lh))
    if prose and rng.random() < 0.4:
        lines = wrap(probe, rng.choice(prose), font, size - 24)[:n]
    else:
        lines = []
        for _ in range(n):
            lines.append(fitted_crop_text(rng, words, probe, font, size - 24))
    img = Image.new("RGB", (size, size), th["bg"])
    d = ImageDraw.Draw(img)
    x = rng.randint(8, 16)
    y = rng.randint(6, max(6, size - 6 - lh * len(lines)))
    boxes = []
    for t in lines:
        d.text((x, y), t, font=font, fill=th["fg"])
        boxes += char_boxes(d, t, x, y, font)
        y += lh
    img.info["boxes"] = boxes
    return img, lines
