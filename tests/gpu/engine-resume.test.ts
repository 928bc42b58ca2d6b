// Continuing a generation that a device loss interrupted (GenerateRequest.resume): the prompt plus the tokens
// streamed before the loss become the new prompt, the rest of the budget is generated, and a greedy continuation
// equals the uninterrupted run token for token. The loss is the real thing: device.destroy() mid-generation.
import { describe, expect, it } from 'vitest';
import { LabEngine } from '../../src/engine/engine';
import { DEFAULT_SAMPLING } from '../../src/engine/types';
import { makeLlamaFixture } from '../fixtures/llama';

function files(seed: number): File[] {
  const f = makeLlamaFixture({ seed });
  return [new File([JSON.stringify(f.configJson)], 'config.json'), new File([f.safetensors], 'model.safetensors')];
}

describe('continuing after a device loss', () => {
  it('greedy: prompt + the tokens before the loss, the remaining budget → the uninterrupted run', async () => {
    const engine = new LabEngine();
    await engine.load({ kind: 'files', files: files(41) });
    const total = 24;
    const req = { prompt: [3, 9, 27, 81], sampling: { ...DEFAULT_SAMPLING, maxNewTokens: total } };
    const whole = await engine.generate(req, () => {});
    expect(whole.outputIds.length).toBe(total);

    const before: number[] = [];
    const lost = engine.generate(req, (ev) => {
      before[ev.index] = ev.id;
      if (ev.index === 6) engine.internals().gpu!.device.destroy();
    });
    await expect(lost).rejects.toMatchObject({ name: 'DeviceLostError' });
    expect(before.length).toBeGreaterThanOrEqual(7);
    expect(before.length).toBeLessThan(total);
    expect(before).toEqual(whole.outputIds.slice(0, before.length));

    const streamed: number[] = [];
    const rest = await engine.generate({ ...req, resume: before, sampling: { ...req.sampling, maxNewTokens: total - before.length } }, (ev) => {
      streamed[ev.index] = ev.id;
    });
    expect(engine.recoveries.length).toBe(1); // a new device, the model re-uploaded from memory
    expect(rest.promptIds).toEqual([...req.prompt, ...before]);
    expect(streamed).toEqual(rest.outputIds);
    expect([...before, ...rest.outputIds]).toEqual(whole.outputIds);
    await engine.reset();
  });

  it('rejects a resume that does not fit the context or the vocabulary with a PromptError', async () => {
    const engine = new LabEngine();
    await engine.load({ kind: 'files', files: files(42) });
    const s = { ...DEFAULT_SAMPLING, maxNewTokens: 2 };
    await expect(engine.generate({ prompt: [1], resume: [1e6], sampling: s }, () => {})).rejects.toMatchObject({ name: 'PromptError' });
    await expect(engine.generate({ prompt: [1], resume: Array(500).fill(2), sampling: s }, () => {})).rejects.toThrow(/context/);
    expect((await engine.generate({ prompt: [1], resume: [2, 3], sampling: s }, () => {})).promptIds).toEqual([1, 2, 3]);
    await engine.reset();
  });
});
