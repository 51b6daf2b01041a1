"""Write the held-out eval task files under evals/ (the format of `npm run eval`).

    python3 train/make_evals.py [EVALS_DIR]      (needs pillow; the data folder of prepare_sources.py)

facts.jsonl, arithmetic.jsonl, words.jsonl: questions phrased as a user would ask them, scored by contains_any.
screens.jsonl + screens/*.png: rendered screenshots from seeds the training never draws (data.EVAL_SEED_OFFSET and
up), scored by text CER of the transcription. Real Chromium screenshots (chromium.jsonl) are made by
evals/chromium/make.sh.
"""
import json, os, random, re, sys

sys.path.insert(0, os.path.dirname(__file__))
import data  # noqa: E402
from render import render, transcript  # noqa: E402

STOP = set("the a an of or and to in on by for with from that which as at is be are was its it this these into any "
           "such not no used having being one who whom".split())
CAPITALS = ["France", "Germany", "Japan", "Italy", "Spain", "Canada", "Egypt", "Kenya", "Brazil", "India", "China", "Peru",
            "Norway", "Sweden", "Greece", "Portugal", "Mexico", "Chile", "Poland", "Ireland", "Thailand", "Cuba",
            "Austria", "Hungary", "Argentina", "Australia", "Turkey", "Russia", "Finland", "Denmark"]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "evals")
    os.makedirs(os.path.join(out, "screens"), exist_ok=True)
    S = data.Sources()
    rng = random.Random(data.EVAL_SEED_OFFSET)
    caps = dict((c, cap) for c, cap in S.facts["countries"])
    facts = []
    for c in CAPITALS:
        if c in caps:
            q = rng.choice([f"What is the capital of {c}?", f"Which city is the capital of {c}?", f"Name the capital of {c}."])
            facts.append({"id": f"capital-{c.lower()}", "messages": [{"role": "user", "content": q}],
                          "expect": {"contains_any": [caps[c]]}})
    for sym, num, _, name in rng.sample(S.facts["elements"], 10):
        facts.append({"id": f"element-{name.lower()}", "messages": [{"role": "user", "content": f"What is the chemical symbol for {name.lower()}?"}],
                      "expect": {"contains_any": [f" {sym}."]}})
    arith = []
    for i in range(40):
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        op = ["+", "-", "*"][i % 3]
        if op == "-":
            a, b = max(a, b), min(a, b)
        if op == "*":
            b = rng.randint(2, 9)
        r = {"+": a + b, "-": a - b, "*": a * b}[op]
        q = rng.choice([f"What is {a} {op} {b}?", f"Calculate {a} {op} {b}.", f"How much is {a} {op} {b}?"])
        arith.append({"id": f"arith-{i}", "messages": [{"role": "user", "content": q}], "expect": {"contains_any": [f"= {r}."]}})
    words = []
    for w in rng.sample(S.easy[:2000], 30):
        pos, gloss, ex, syn = S.senses[w][0]
        keys = [t for t in re.findall(r"[a-z]+", gloss.lower()) if len(t) > 3 and t not in STOP and t[:4] != w[:4]][:4]
        if keys:
            words.append({"id": f"word-{w}", "messages": [{"role": "user", "content": f"What does {w} mean?"}],
                          "expect": {"contains_any": keys}})
    screens = []
    n = 0
    while len(screens) < 30:
        img, info = render(random.Random(data.EVAL_SEED_OFFSET + 1000 + n), S.fonts, S.easy, S.sentences)
        n += 1
        name = f"screens/render-{len(screens):02d}.png"
        img.save(os.path.join(out, name))
        screens.append({"id": f"render-{len(screens):02d}", "messages": [{"role": "user", "content": [
            {"type": "image", "path": name}, {"type": "text", "text": "Transcribe the text in this screenshot."}]}],
            "expect": {"text": transcript(info)}})
    for fname, rows in (("facts", facts), ("arithmetic", arith), ("words", words), ("screens", screens)):
        with open(os.path.join(out, f"{fname}.jsonl"), "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(fname, len(rows))


if __name__ == "__main__":
    main()
