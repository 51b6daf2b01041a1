"""Training data, generated on the fly from the small source folder that prepare_sources.py builds.

- Sources: prose paragraphs, WordNet, facts, fonts (DATA dir).
- chat_sample(rng): one synthetic conversation (facts, arithmetic, conversions, word meanings, synonyms, stories,
  small talk, and screenshot reading with a rendered image), as HF chat messages + the assistant reply.
- text_doc(rng): one pretraining document (prose, or the same knowledge written as plain sentences).
- PackedStream: an IterableDataset of fixed-length rows (input ids, labels, image tiles, the sample number of each
  token: model.forward's segments) for a DataLoader; each worker generates its own samples (rendering included), so
  data is made on all CPU cores while the GPU trains.
"""
import gzip, json, math, os, random, re
import torch
from render import CELLS, IGNORE, cell_labels, render, render_crop, render_lines, render_word, transcript

DATA = os.environ.get("TRAIN_DATA", os.path.join(os.path.dirname(__file__), "..", ".train-tabscout", "data"))
EVAL_SEED_OFFSET = 10_000_019  # held-out eval items use seeds from here on; training seeds stay below


def read_lines(path):
    """Lines of a text file, or of its .gz when that is what exists."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        return gzip.open(path + ".gz", "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


class Sources:
    def __init__(self, data=DATA):
        self.prose = [l.rstrip("\n").replace("\\n", "\n") for l in read_lines(os.path.join(data, "prose.txt"))]
        self.facts = json.load(open(os.path.join(data, "facts.json"), encoding="utf-8"))
        counts = {}
        for p in self.prose[:20000]:
            for w in re.findall(r"[a-z]+", p):
                counts[w] = counts.get(w, 0) + 1
        self.senses = {}  # lemma -> [(pos, gloss, examples, synonyms)] most frequent sense first
        for line in read_lines(os.path.join(data, "wordnet.tsv")):
            lem, pos, rank, gloss, ex, syn = line.rstrip("\n").split("\t")
            self.senses.setdefault(lem, []).append((pos, gloss, [e for e in ex.split("|") if e], [s for s in syn.split("|") if s]))
        # easy words: single words that are frequent in the prose and defined in WordNet
        self.easy = [w for w, c in sorted(counts.items(), key=lambda x: -x[1]) if c >= 3 and w in self.senses and len(w) > 2][:6000]
        self.nouns = [w for w in self.easy if any(s[0] == "noun" for s in self.senses[w])]
        fdir = os.path.join(data, "fonts")
        ff = sorted(os.listdir(fdir))
        self.fonts = {"mono": [os.path.join(fdir, f) for f in ff if "Mono" in f or "Hack" in f],
                      "serif": [os.path.join(fdir, f) for f in ff if "Serif" in f],
                      "sans": [os.path.join(fdir, f) for f in ff if "Sans" in f and "Mono" not in f]}
        self.sentences = [s for p in self.prose[:30000] for s in re.split(r"(?<=[.!?]) ", p) if 30 < len(s) < 140]


# ---------------------------------------------------------------- chat generators

def _q(rng, *forms):
    return rng.choice(forms)


def capital(S, rng):
    c, cap = rng.choice(S.facts["countries"])
    if rng.random() < 0.75:
        return _q(rng, f"What is the capital of {c}?", f"What's the capital of {c}?", f"Capital of {c}?",
                  f"Which city is the capital of {c}?", f"Tell me the capital of {c}."), f"The capital of {c} is {cap}."
    return _q(rng, f"{cap} is the capital of which country?", f"Which country has {cap} as its capital?"), f"{cap} is the capital of {c}."


def element(S, rng):
    sym, num, _, name = rng.choice(S.facts["elements"])
    k = rng.randint(0, 2)
    if k == 0:
        return f"What is the chemical symbol for {name.lower()}?", f"The chemical symbol for {name.lower()} is {sym}."
    if k == 1:
        return f"Which element has the symbol {sym}?", f"{sym} is the symbol of {name.lower()}."
    return f"What is the atomic number of {name.lower()}?", f"The atomic number of {name.lower()} is {num}."


def animal(S, rng):
    if rng.random() < 0.5 and S.facts["babies"]:
        b, a = rng.choice(S.facts["babies"])  # quiz file "babies": young:adult
        return f"What is a baby {a} called?", f"A baby {a} is called a {b}."
    a, b = rng.choice(S.facts["collectives"])
    return f"What is a group of {a} called?", f"A group of {a} is called a {b}."


def arithmetic(S, rng):
    op = rng.choice("++--*x/")
    if op == "+":
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        if rng.random() < 0.15:
            a, b = rng.randint(100, 999), rng.randint(0, 999)
        r, sym, word = a + b, "+", "plus"
    elif op == "-":
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        if rng.random() < 0.7:
            a, b = max(a, b), min(a, b)
        r, sym, word = a - b, "-", "minus"
    elif op in "*x":
        a, b = rng.randint(0, 12), rng.randint(0, 99) if rng.random() < 0.5 else rng.randint(0, 12)
        if rng.random() < 0.5:
            a, b = b, a
        r, sym, word = a * b, "×" if op == "x" else "*", "times"
    else:
        b = rng.randint(1, 12); r = rng.randint(0, 12); a = b * r
        sym, word = "/", "divided by"
    if (a, "*" if sym == "×" else sym, b) in EVAL_ARITH:
        return arith2(S, rng)
    q = _q(rng, f"What is {a} {sym} {b}?", f"What is {a} {word} {b}?", f"{a} {sym} {b} = ?", f"Calculate {a} {sym} {b}.",
           f"How much is {a} {word} {b}?", f"{a}{sym}{b}")
    return q, arith_reply(rng, a, sym, b, r)


def _eval_arith(path=os.path.join(os.path.dirname(__file__), "..", "evals", "arithmetic.jsonl")):
    """(a, op, b) of the held-out arithmetic eval: never generated for training."""
    out = set()
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            m = re.search(r"(\d+) ([-+*×x/]|plus|minus|times) (\d+)", json.loads(line)["messages"][-1]["content"])
            if m:
                out.add((int(m.group(1)), {"plus": "+", "minus": "-", "times": "*", "x": "*", "×": "*"}.get(m.group(2), m.group(2)),
                         int(m.group(3))))
    return out


EVAL_ARITH = _eval_arith()


def arith2(S, rng):
    """The 2-digit drill (the held-out eval's kinds, never its items): a + b and a - b (a >= b) with 10 <= a, b <= 99,
    and a * d with a 2-digit a and a 1-digit d, in the eval's phrasings and others; the reply states the equation."""
    while True:
        op = rng.choice("+-*")
        a, b = rng.randint(10, 99), rng.randint(10, 99)
        if op == "-":
            a, b = max(a, b), min(a, b)
        if op == "*":
            b = rng.randint(2, 9)
        if (a, op, b) not in EVAL_ARITH:
            break
    r = {"+": a + b, "-": a - b, "*": a * b}[op]
    if op == "*" and rng.random() < 0.2:
        a, b = b, a  # d * a as well
    sym = "×" if op == "*" and rng.random() < 0.15 else op
    word = {"+": "plus", "-": "minus", "*": "times"}[op]
    q = _q(rng, f"What is {a} {sym} {b}?", f"Calculate {a} {sym} {b}.", f"How much is {a} {sym} {b}?", f"What is {a} {word} {b}?",
           f"{a} {sym} {b} = ?", f"{a}{sym}{b}")
    return q, arith_reply(rng, a, sym, b, r)


ARITH_STEPS = float(os.environ.get("ARITH_STEPS", "0"))  # share of 2-digit replies that show their work (--arith-steps)


def worked(a, sym, b):
    """The steps of a 2-digit sum, difference or product by one digit, each small enough to do digit by digit, or
    None where there is no such split (an operand below 10, 3-digit numbers, division, a round number to subtract or
    multiply):
    49 + 31 = 40 + 30 + 9 + 1 = 70 + 10 = 80;  77 - 49 = 77 - 40 - 9 = 37 - 9 = 28;  79 * 3 = 70 * 3 + 9 * 3 = 210 + 27 = 237."""
    two = lambda n: 10 <= n <= 99
    if sym == "+" and two(a) and two(b):
        ta, ua, tb, ub = a - a % 10, a % 10, b - b % 10, b % 10
        return f"{a} + {b} = {ta} + {tb} + {ua} + {ub} = {ta + tb} + {ua + ub} = {a + b}"
    if sym == "-" and two(a) and two(b) and a >= b and b % 10:
        tb, ub = b - b % 10, b % 10
        return f"{a} - {b} = {a} - {tb} - {ub} = {a - tb} - {ub} = {a - b}"
    if sym in "*×" and (two(a) and a % 10 and 2 <= b <= 9 or two(b) and b % 10 and 2 <= a <= 9):
        if two(a):
            t, u = a - a % 10, a % 10
            return f"{a} {sym} {b} = {t} {sym} {b} + {u} {sym} {b} = {t * b} + {u * b} = {a * b}"
        t, u = b - b % 10, b % 10
        return f"{a} {sym} {b} = {a} {sym} {t} + {a} {sym} {u} = {a * t} + {a * u} = {a * b}"
    return None


def arith_reply(rng, a, sym, b, r):
    """'a sym b = r.', or with probability ARITH_STEPS (where worked() has steps) the same equation with its steps"""
    steps = worked(a, sym, b) if ARITH_STEPS and rng.random() < ARITH_STEPS else None
    return f"{steps}." if steps else f"{a} {sym} {b} = {r}."


UNITS = [("meters", "centimeters", 100), ("kilometers", "meters", 1000), ("hours", "minutes", 60), ("minutes", "seconds", 60),
         ("days", "hours", 24), ("weeks", "days", 7), ("kilograms", "grams", 1000), ("liters", "milliliters", 1000),
         ("feet", "inches", 12), ("years", "months", 12), ("dollars", "cents", 100)]


def conversion(S, rng):
    big, small, f = rng.choice(UNITS)
    n = rng.randint(1, 12)
    if rng.random() < 0.7:
        return _q(rng, f"How many {small} are in {n} {big}?", f"Convert {n} {big} to {small}."), f"{n} {big} is {n * f} {small}."
    return f"How many {big} is {n * f} {small}?", f"{n * f} {small} is {n} {big}."


def article(w):
    return "an" if w[0] in "aeiou" else "a"


def define(S, rng):
    w = rng.choice(S.easy)
    pos, gloss, ex, syn = S.senses[w][0]
    q = _q(rng, f"What does {w} mean?", f"What does the word \"{w}\" mean?", f"Define {w}.", f"What is the meaning of {w}?",
           f"Meaning of {w}?", f"Explain the word {w}.")
    a = f"{w.capitalize()} ({pos}): {gloss}."
    if ex:
        a += f" For example: \"{ex[0]}\"."
    return q, a


def synonym(S, rng):
    cands = [w for w in rng.sample(S.easy, 30) if S.senses[w][0][3]]
    if not cands:
        return define(S, rng)
    w = cands[0]
    syn = S.senses[w][0][3]
    return _q(rng, f"What is a synonym of {w}?", f"Give me another word for {w}.", f"Synonym for {w}?"), \
        f"A word that means the same as {w} is \"{syn[0]}\"."


NAMES = ["Tom", "Lily", "Ben", "Mia", "Sam", "Anna", "Max", "Lucy", "Tim", "Sara", "Jack", "Emma", "Leo", "Zoe"]
PLACES = ["park", "forest", "garden", "beach", "school", "farm", "river", "town", "house", "hill"]
ANIMALS = ["cat", "dog", "bird", "rabbit", "fox", "duck", "horse", "bear", "frog", "mouse", "owl", "fish"]
THINGS = ["ball", "kite", "box", "hat", "book", "cake", "boat", "key", "map", "bell", "drum", "star"]
FEEL = ["happy", "sad", "scared", "excited", "tired", "surprised", "proud", "curious"]


def story_text(rng, topic=None):
    n, p, a, t, f = rng.choice(NAMES), rng.choice(PLACES), topic or rng.choice(ANIMALS), rng.choice(THINGS), rng.choice(FEEL)
    n2 = rng.choice([x for x in NAMES if x != n])
    parts = [f"Once upon a time, {n} went to the {p}.",
             f"There {n} saw a little {a}. The {a} looked {f}.",
             rng.choice([f"The {a} had lost its {t}.", f"The {a} wanted to play with a {t}.", f"The {a} was looking for a {t}."]),
             rng.choice([f"{n} and {n2} looked everywhere for the {t}.", f"{n} said, \"Do not worry, I will help you.\"",
                         f"{n} asked {n2} to help."]),
             rng.choice([f"At last they found the {t} under a big tree.", f"Soon they found the {t} near the water.",
                         f"They made a new {t} together."]),
             rng.choice([f"The {a} was very happy. From that day on, {n} and the {a} were friends.",
                         f"Everyone smiled. {n} learned that helping others feels good.",
                         f"Then {n} went home and told mom all about the {a}."])]
    return " ".join(parts)


def story(S, rng):
    a = rng.choice(ANIMALS)
    return _q(rng, f"Tell me a short story about a {a}.", f"Write a story about a {a}.", f"Can you tell me a story with a {a}?"), story_text(rng, a)


INTRO = ("I am TabScout, a small language model that runs in your browser. I can answer simple questions, do "
         "arithmetic, explain words and read the text in screenshots. I make mistakes, so check what matters.")
SMALLTALK = [(["Hello!", "Hi", "Hey there!", "Good morning!", "Hello, who are you?"], "Hello! " + INTRO),
             (["What can you do?", "What are you?", "Who made you?", "What can you do with a screenshot?"], INTRO),
             (["Thank you!", "Thanks a lot.", "Thanks!"], "You are welcome!"),
             (["How are you?", "How are you today?"], "I am fine, thank you. How can I help you?"),
             (["Goodbye!", "Bye."], "Goodbye! Have a nice day.")]


def smalltalk(S, rng):
    qs, a = rng.choice(SMALLTALK)
    return rng.choice(qs), a


def spell_count(S, rng):
    w = rng.choice(S.easy)
    if rng.random() < 0.5:
        return f"How many letters are in the word {w}?", f"The word {w} has {len(w)} letters."
    return f"Spell the word {w}.", f"{w}: " + "-".join(w.upper()) + "."


TEXT_TASKS = [(capital, 3), (element, 1), (animal, 0.5), (arithmetic, 4), (conversion, 1), (define, 3), (synonym, 1),
              (story, 1.5), (smalltalk, 0.5), (spell_count, 0.5)]
ARITH_EXTRA = float(os.environ.get("ARITH_EXTRA", "0"))  # weight of the 2-digit drill in the chat mix (train.py --arith)

SYSTEMS = ["You are a helpful assistant.", "You are TabScout, a helpful assistant in the browser.", "Answer briefly.",
           "You are a friendly assistant. Keep answers short."]


def pick(rng, table):
    tot = sum(w for _, w in table)
    x = rng.random() * tot
    for f, w in table:
        x -= w
        if x <= 0:
            return f
    return table[-1][0]


def text_chat(S, rng):
    """messages (HF format, string contents) of a conversation of 1-3 turns; every assistant turn is trained."""
    msgs = []
    if rng.random() < 0.3:
        msgs.append({"role": "system", "content": rng.choice(SYSTEMS)})
    tasks = TEXT_TASKS + [(arith2, ARITH_EXTRA)] if ARITH_EXTRA else TEXT_TASKS
    for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 3)):
        q, a = pick(rng, tasks)(S, rng)
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return msgs


READ_PROMPTS = ["Transcribe the text in this screenshot.", "What does this screenshot say?", "Read the text in this image.",
                "Please transcribe this screenshot.", "What text is in this image?"]


CROP_PROMPTS = READ_PROMPTS + ["What does it say?", "Read this.", "What is written here?"]


def crop_chat(S, rng, level=1):
    """(messages, PIL image): one tile of text to read; the reply is that text. level 0: one short string in very
    large type; 1: one or two lines of large text; 2: three to seven lines of window-sized text."""
    if level == 0:
        img, lines = render_word(rng, S.fonts, S.easy)
    elif level == 1:
        img, lines = render_crop(rng, S.fonts, S.easy)
    else:
        img, lines = render_lines(rng, S.fonts, S.easy, S.sentences)
    img.info["crop"] = True  # PackedStream marks its reply tokens as a crop's (the training log splits the loss)
    img.info["level"] = level
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": rng.choice(CROP_PROMPTS)}]},
            {"role": "assistant", "content": "\n".join(lines)}]
    return msgs, img


def image_chat(S, rng, crop_share=0.0):
    """(messages, PIL image): a rendered window and a question whose answer must be read from it; with probability
    crop_share a single-tile crop of large text instead (the start of the screenshot curriculum)."""
    if crop_share and rng.random() < crop_share:
        return crop_chat(S, rng, rng.choice((0, 1, 1, 2, 2)))
    img, info = render(rng, S.fonts, S.easy, S.sentences)
    k = rng.random()
    if k < 0.6 or not info["buttons"] and k < 0.8:
        q, a = rng.choice(READ_PROMPTS), transcript(info)
    elif k < 0.7:
        q, a = _q(rng, "What is the title of this window?", "What does the title bar say?"), info["title"]
    elif k < 0.8:
        q = _q(rng, "Which buttons are in this dialog?", "What buttons can I click?")
        a = ", ".join(info["buttons"])
    else:
        q, a = _q(rng, "What is the message in this window?", "What does the window say?"), "\n".join(info["lines"])
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": q}]},
            {"role": "assistant", "content": a}]
    return msgs, img


def curriculum_chat(S, rng, p):
    """The vision stage's reading curriculum at progress p (0..1): single large strings first, then lines of large
    text, then window-sized lines on one tile, then whole rendered windows (every level stays in the mix)."""
    w = [0.05 + 0.6 * (1 - p), 0.3, 0.1 + 0.3 * p, 0.05 + 0.35 * p]
    x = rng.random() * sum(w)
    for level, wl in enumerate(w):
        x -= wl
        if x <= 0:
            break
    if level == 3:
        return image_chat(S, rng)
    return crop_chat(S, rng, level)


def text_doc(S, rng):
    """A pretraining document: prose most of the time, else knowledge written as sentences."""
    k = rng.random()
    if k < 0.6:
        return rng.choice(S.prose)
    if k < 0.75:
        return story_text(rng)
    if k < 0.9:
        out = []
        for w in rng.sample(S.easy, 6):
            pos, gloss, ex, syn = S.senses[w][0]
            out.append(f"{w} ({pos}): {gloss}." + (f" \"{ex[0]}\"" if ex else ""))
        return "\n".join(out)
    out = []
    for _ in range(8):
        q, a = pick(rng, TEXT_TASKS[:5])(S, rng)
        out.append(a)
    return " ".join(out)


# ---------------------------------------------------------------- tokenized, packed rows

class Encoder:
    """Chat messages -> (ids, labels) through the model's chat template; labels are -100 except on assistant replies
    (the reply text and its <|eot|>). Images go through the HF Llama 4 processor, exactly as at inference."""
    def __init__(self, processor):
        self.proc, self.tok = processor, processor.tokenizer
        self.eot = self.tok.convert_tokens_to_ids("<|eot|>")

    def chat(self, msgs, image=None):
        """Turn by turn: the template's prompt up to each assistant header (no loss), then the reply (loss).
        Returns None when the template's tokens of an earlier turn differ from ours (never seen; a guard)."""
        ids, labels, px = [], [], None
        for i, m in enumerate(msgs):
            if m["role"] != "assistant":
                continue
            prompt = self.proc.apply_chat_template(msgs[:i], add_generation_prompt=True, tokenize=False)
            if image is not None:
                assert not ids, "images only in single-turn conversations"
                b = self.proc(text=prompt, images=[image], return_tensors="pt")
                p_ids, px = b["input_ids"][0].tolist(), b["pixel_values"]
            else:
                p_ids = self.tok(prompt, add_special_tokens=False)["input_ids"]
            if p_ids[:len(ids)] != ids:
                return None
            new = p_ids[len(ids):]
            ids += new; labels += [-100] * len(new)
            r = self.tok(m["content"], add_special_tokens=False)["input_ids"] + [self.eot]
            ids += r; labels += r
        return ids, labels, px

    def text(self, doc):
        ids = [self.tok.bos_token_id] + self.tok(doc, add_special_tokens=False)["input_ids"] + [self.tok.convert_tokens_to_ids("<|end_of_text|>")]
        return ids, ids[:]


class PackedStream(torch.utils.data.IterableDataset):
    """Rows of `length` tokens packed from whole samples. mode 'pretrain': text documents (+ a little chat);
    mode 'sft': chat with images at rate `image_rate` (of which `crop_share` single-tile crops of large text), text
    chat, and prose replay at rate `replay`."""
    def __init__(self, tokenizer_dir, mode, length, seed, image_rate=0.5, replay=0.15, data=DATA, crop_share=0.0,
                 schedule=None, arith=0.0, arith_steps=0.0):
        self.tdir, self.mode, self.L, self.seed, self.image_rate, self.replay, self.data = tokenizer_dir, mode, length, seed, image_rate, replay, data
        self.crop_share, self.schedule, self.arith = crop_share, schedule, arith  # schedule: (start, seconds) of mode 'vision'
        self.arith_steps = arith_steps

    def progress(self):
        import time
        return 0.0 if not self.schedule else min(1.0, max(0.0, (time.time() - self.schedule[0]) / max(1e-6, self.schedule[1])))

    def __iter__(self):
        from transformers import AutoProcessor
        torch.set_num_threads(1)
        wi = torch.utils.data.get_worker_info()
        rank = int(os.environ.get("RANK", 0))
        rng = random.Random((self.seed * 1_000_003 + rank * 1009 + (wi.id if wi else 0) * 31 + (self.mode == "sft")) % EVAL_SEED_OFFSET)
        S = Sources(self.data)
        global ARITH_EXTRA, ARITH_STEPS
        ARITH_EXTRA = self.arith or ARITH_EXTRA
        ARITH_STEPS = self.arith_steps or ARITH_STEPS
        enc = Encoder(AutoProcessor.from_pretrained(self.tdir))
        pad = enc.tok.pad_token_id
        ids, labels, tiles, img, seg, cells = [], [], [], [], [], []
        while True:
            im = None
            px, kind = None, 0  # kind of image sample: 1 a rendered window, 2 + level a single-tile crop of that level
            if self.mode == "pretrain":
                if rng.random() < 0.85:
                    s_ids, s_lab = enc.text(text_doc(S, rng))
                else:
                    e = enc.chat(text_chat(S, rng))
                    if e is None:
                        continue
                    s_ids, s_lab = e[:2]
                if len(s_ids) > self.L:  # long prose: a random window
                    o = rng.randint(0, len(s_ids) - self.L); s_ids, s_lab = s_ids[o:o + self.L], s_lab[o:o + self.L]
            elif self.mode == "vision":  # the reading curriculum only (the text decoder is frozen or nearly)
                msgs, im = curriculum_chat(S, rng, self.progress())
                e, kind = enc.chat(msgs, im), 2 + im.info.get("level", 0) if im.info.get("crop") else 1
                if e is None or len(e[0]) > self.L:
                    continue
                s_ids, s_lab, px = e
            else:
                k = rng.random()
                if k < self.image_rate + self.replay and k >= self.image_rate:
                    s_ids, s_lab = enc.text(text_doc(S, rng))
                    s_ids, s_lab = s_ids[:self.L], s_lab[:self.L]
                else:
                    kind = 0
                    if k < self.image_rate:
                        msgs, im = image_chat(S, rng, self.crop_share)
                        e, kind = enc.chat(msgs, im), 2 + im.info.get("level", 0) if im.info.get("crop") else 1
                    else:
                        e = enc.chat(text_chat(S, rng))
                    if e is None or len(e[0]) > self.L:
                        continue
                    s_ids, s_lab, px = e
            if len(ids) + len(s_ids) > self.L:
                n = self.L - len(ids)
                yield {"ids": torch.tensor(ids + [pad] * n), "labels": torch.tensor(labels + [-100] * n),
                       "px": torch.cat(tiles) if tiles else torch.zeros(0, 3, 1, 1, dtype=torch.bfloat16),
                       "image_reply": torch.tensor(img + [0] * n, dtype=torch.uint8),
                       "seg": torch.tensor(seg + [0] * n, dtype=torch.int16),
                       "cells": torch.tensor(cells, dtype=torch.int16)}
                ids, labels, tiles, img, seg, cells = [], [], [], [], [], []
            seg += [(seg[-1] if seg else 0) + 1] * len(s_ids)  # sample number in the row (1, 2, ...; padding 0)
            ids += s_ids; labels += s_lab; img += [kind if px is not None else 0] * len(s_ids)
            if px is not None:
                tiles.append(px.to(torch.bfloat16))
                cells += tile_cells(im, px.shape[0])


def tile_cells(im, tiles):
    """The glyph targets (render.cell_labels) of an image's tiles, one per image token: a single-tile crop that
    recorded its characters' boxes has them; any other image (a window split into tiles) has none (IGNORE)."""
    if im is not None and tiles == 1 and "boxes" in im.info and im.size == (CELLS * 28, CELLS * 28):
        return cell_labels(im.info["boxes"], im.size[0])
    return [IGNORE] * (tiles * CELLS * CELLS)


def collate(rows):
    px = [r["px"] for r in rows if r["px"].shape[0]]
    cells = [r["cells"] for r in rows if r["px"].shape[0]]
    return {"ids": torch.stack([r["ids"] for r in rows]), "labels": torch.stack([r["labels"] for r in rows]),
            "px": torch.cat(px) if px else None, "image_reply": torch.stack([r["image_reply"] for r in rows]),
            "seg": torch.stack([r["seg"] for r in rows]), "cells": torch.cat(cells).long() if cells else None}


def targets(labels, seg=None):
    """The next-token targets of logits[:, :-1]: labels[:, 1:], and with seg (samples isolated) -100 where the next
    token starts another sample (its first token is never predicted from the previous sample's last)."""
    tgt = labels[:, 1:]
    return tgt if seg is None else tgt.masked_fill(seg[:, 1:] != seg[:, :-1], -100)


def check_worked():
    """every worked() chain of two operands below 100 is arithmetic that holds, ending in the answer"""
    n = 0
    for a in range(100):
        for b in range(100):
            for sym in "+-*×":
                w = worked(a, sym, b)
                if w is None:
                    continue
                parts = w.split(" = ")
                r = {"+": a + b, "-": a - b}.get(sym, a * b)
                assert parts[0] == f"{a} {sym} {b}" and parts[-1] == str(r), w
                assert all(eval(p.replace("×", "*")) == r for p in parts), w  # noqa: S307 (our own strings of digits)
                n += 1
    return n


if __name__ == "__main__":
    print(f"worked arithmetic: {check_worked()} chains hold")
