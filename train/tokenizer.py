"""Train our byte-level BPE (8,192 ids with the Llama 4 special tokens) and save it with the Llama 4 processor.

    python3 train/tokenizer.py OUT_DIR [--vocab 8192] [--tile 336] [--max-tiles 6]

The pre-tokenizer is Llama 4's (o200k-style split regex), except that numbers split into single digits so that
arithmetic is learnable by a small model. The Llama 4 special tokens follow the BPE vocabulary; the chat template
is Llama 4's (train/chat_template.jinja). OUT_DIR gets tokenizer.json, tokenizer_config.json, chat_template.jinja,
preprocessor_config.json and processor_config.json: the text files of the model folder.
"""
import argparse, os, random, sys
from tokenizers import Tokenizer, models, trainers, pre_tokenizers, decoders, Regex, processors

sys.path.insert(0, os.path.dirname(__file__))
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
            "<|header_start|>", "<|header_end|>", "<|eom|>", "<|eot|>", "<|step|>", "<|python_start|>",
            "<|python_end|>", "<|finetune_right_pad|>", "<|image_start|>", "<|image_end|>",
            "<|vision_reserved_special_token_0|>", "<|tile_x_separator|>", "<|tile_y_separator|>",
            "<|image|>", "<|patch|>"]
SPLIT = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
         r"|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def corpus(n_synthetic=60000):
    import data
    from render import render, transcript
    S = data.Sources()
    rng = random.Random(7)
    yield from S.prose
    for _ in range(n_synthetic):
        for m in data.text_chat(S, rng):
            yield m["content"]
    for _ in range(1500):
        _, info = render(rng, S.fonts, S.easy, S.sentences)
        yield transcript(info)
    for w in S.easy:
        pos, gloss, ex, syn = S.senses[w][0]
        yield f"{w} ({pos}): {gloss}. {' '.join(ex)}"


def build(out, vocab, tile, max_tiles, patch=14, ratio=0.5, max_len=4096):
    from transformers import Llama4Processor, PreTrainedTokenizerFast
    try:
        from transformers import Llama4ImageProcessorFast
    except ImportError:
        from transformers.models.llama4.image_processing_llama4_fast import Llama4ImageProcessorFast
    tok = Tokenizer(models.BPE(byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab - len(SPECIALS), initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus(), trainer=trainer)
    tok.add_special_tokens(SPECIALS)
    assert tok.get_vocab_size() == vocab, tok.get_vocab_size()
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A $B",
                                                       special_tokens=[("<|begin_of_text|>", bos)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|eot|>",
                                   pad_token="<|finetune_right_pad|>", model_max_length=max_len)
    ip = Llama4ImageProcessorFast(size={"height": tile, "width": tile}, max_patches=max_tiles, resize_to_max_canvas=False,
                                  image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    template = open(os.path.join(os.path.dirname(__file__), "chat_template.jinja")).read()
    proc = Llama4Processor(image_processor=ip, tokenizer=fast, patch_size=patch, pixel_shuffle_ratio=ratio, chat_template=template)
    os.makedirs(out, exist_ok=True)
    proc.save_pretrained(out)
    ip.save_pretrained(out)
    fast.save_pretrained(out)
    if not os.path.exists(os.path.join(out, "chat_template.jinja")):
        open(os.path.join(out, "chat_template.jinja"), "w").write(template)
    return proc


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("out"); ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--tile", type=int, default=336); ap.add_argument("--max-tiles", type=int, default=6)
    a = ap.parse_args()
    proc = build(a.out, a.vocab, a.tile, a.max_tiles)
    t = proc.tokenizer
    for s in ["The capital of France is Paris.", "37 + 45 = 82.", "def main(x=12):\n    return x * 3"]:
        print(len(t(s, add_special_tokens=False)["input_ids"]), t.tokenize(s))
