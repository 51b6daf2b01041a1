// Tokenizer and chat template against the Hugging Face references of both fixtures; the template found in each of
// the places a Hub repo keeps it; streaming decode across multi-byte characters.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FsModelFiles } from '../../cli/fs-model-files.ts';
import { Reference } from '../../cli/reference.ts';
import { EngineError } from '../../protocol/errors.ts';
import { fixturesDir, removeDir, tempModelCopy } from '../../testing/fixtures.ts';
import { ChatTokenizer, StreamingDecoder } from './tokenizer.ts';

const FIXTURES = ['tiny-scout', 'tiny-maverick'];
const temps: string[] = [];
after(() => temps.forEach(removeDir));
const modelDir = (fixture: string) => join(fixturesDir(), fixture, 'model');
const load = (dir: string) => ChatTokenizer.load(new FsModelFiles(dir));

for (const fixture of FIXTURES) {
  test(`${fixture}: the chat template reproduces every case's prompt; the tokenizer reproduces the text cases' ids`, async () => {
    const tok = await load(modelDir(fixture));
    const ref = await Reference.load(join(fixturesDir(), fixture, 'reference'));
    const withMessages = ref.cases.filter((c) => c.messages);
    assert.ok(withMessages.length >= 2, 'cases with messages');
    for (const c of withMessages) {
      assert.equal(tok.applyChatTemplate(c.messages!, c.add_generation_prompt ?? true), c.prompt, `${c.name}: template`);
    }
    const textCases = ref.cases.filter((c) => c.prompt && !c.image);
    assert.ok(textCases.some((c) => c.name === 'chat'));
    for (const c of textCases) {
      const ids = ref.ids(`${c.name}.input_ids`);
      assert.deepEqual(tok.encode(c.prompt!), ids, `${c.name}: input ids`);
      assert.equal(tok.decode(ids), c.prompt, `${c.name}: decode`);
    }
    // without the generation prompt the template stops after the last message
    const chat = ref.cases.find((c) => c.name === 'chat')!;
    const noGen = tok.applyChatTemplate(chat.messages!, false);
    assert.ok(chat.prompt!.startsWith(noGen) && noGen.length < chat.prompt!.length);
    assert.ok(noGen.endsWith('<|eot|>'), JSON.stringify(noGen.slice(-40)));
  });
}

/** A temp copy of the tiny-scout model with the template moved out of chat_template.jinja by `move`. */
function withTemplateMoved(move: (dir: string, template: string) => void): string {
  const dir = tempModelCopy('tiny-scout');
  temps.push(dir);
  const template = readFileSync(join(dir, 'chat_template.jinja'), 'utf8');
  rmSync(join(dir, 'chat_template.jinja'));
  move(dir, template);
  return dir;
}

test('the template is also found in chat_template.json and in tokenizer_config.json', async () => {
  const ref = await Reference.load(join(fixturesDir(), 'tiny-scout', 'reference'));
  const chat = ref.cases.find((c) => c.name === 'chat')!;
  const jsonDir = withTemplateMoved((dir, template) => writeFileSync(join(dir, 'chat_template.json'), JSON.stringify({ chat_template: template })));
  const configDir = withTemplateMoved((dir, template) => {
    const config = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: template }));
  });
  for (const [where, dir] of [['chat_template.json', jsonDir], ['tokenizer_config.json', configDir]]) {
    const tok = await load(dir);
    assert.equal(tok.applyChatTemplate(chat.messages!), chat.prompt, where);
    assert.deepEqual(tok.encode(chat.prompt!), ref.ids('chat.input_ids'), where);
  }
});

test('no chat template anywhere, or no tokenizer.json: a bad-model error that says what is missing', async () => {
  const none = withTemplateMoved(() => {});
  await assert.rejects(load(none), (e: unknown) => {
    assert.ok(e instanceof EngineError);
    assert.equal(e.code, 'bad-model');
    assert.match(e.message, /no chat template found/);
    assert.match(e.message, /chat_template\.jinja, chat_template\.json or tokenizer_config\.json/);
    return true;
  });
  const noTokenizer = tempModelCopy('tiny-scout');
  temps.push(noTokenizer);
  rmSync(join(noTokenizer, 'tokenizer.json'));
  await assert.rejects(load(noTokenizer), (e: unknown) => e instanceof EngineError && e.code === 'bad-model' && /tokenizer\.json is missing/.test(e.message));
});

test('StreamingDecoder: pieces concatenate to decode(all ids), multi-byte characters split across tokens held back', async () => {
  const tok = await load(modelDir('tiny-scout'));
  const text = '漢字 😀 héllo, wörld! ✓';
  const ids = tok.encode(text);
  assert.equal(tok.decode(ids), text);
  // the fixture's small byte-level vocabulary splits these characters over several tokens
  const splitPrefixes = ids.map((_, i) => tok.decode(ids.slice(0, i + 1))).filter((s) => s.endsWith('\uFFFD'));
  assert.ok(splitPrefixes.length >= 3, 'some prefixes end inside a character');
  const decoder = new StreamingDecoder(tok);
  const pieces = ids.map((id) => decoder.push(id));
  pieces.push(decoder.flush());
  assert.equal(pieces.join(''), tok.decode(ids));
  assert.equal(decoder.text, text);
  assert.ok(pieces.every((p) => !p.includes('\uFFFD')), JSON.stringify(pieces));
  assert.ok(pieces.filter((p) => p === '').length >= 3, 'pieces held back while a character is incomplete');
  assert.ok(pieces.includes('😀') || pieces.some((p) => p.includes('😀')));

  // a stream that ends inside a character: flush emits the rest as decode() has it
  const emoji = tok.encode('a😀');
  const cut = emoji.slice(0, -1);
  const d2 = new StreamingDecoder(tok);
  const p2 = cut.map((id) => d2.push(id));
  p2.push(d2.flush());
  assert.equal(p2.join(''), tok.decode(cut));
  assert.ok(tok.decode(cut).endsWith('\uFFFD'));

  // special tokens are kept in the text
  const special = tok.encode('<|header_start|>assistant<|header_end|>\n\nHi');
  const d3 = new StreamingDecoder(tok);
  assert.equal(special.map((id) => d3.push(id)).join('') + d3.flush(), '<|header_start|>assistant<|header_end|>\n\nHi');
});
