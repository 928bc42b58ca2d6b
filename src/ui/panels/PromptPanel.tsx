// Prompt box, Generate / Stop, and the streaming output (text and token ids).
import { generate, stop } from '../actions';
import { model, outputIds, phase, prompt, promptIds, promptMode, runPrompt, statusText } from '../state';
import { TokenOutput } from '../techniques/TokenOutput';

export function PromptPanel() {
  const p = phase.value;
  const m = model.value;
  const canGenerate = !!m && p === 'idle';
  return (
    <section class="panel prompt-panel" data-testid="prompt-panel">
      <div class="row spread">
        <h2>Prompt</h2>
        <select
          class="compact"
          data-testid="prompt-mode"
          value={promptMode.value}
          disabled={!m?.hasTokenizer}
          title="Text needs the model's tokenizer; token ids work for any model"
          onChange={(e) => (promptMode.value = (e.currentTarget as HTMLSelectElement).value as 'text' | 'ids')}
        >
          <option value="text">text</option>
          <option value="ids">token ids</option>
        </select>
      </div>
      <textarea
        data-testid="prompt"
        rows={4}
        spellcheck={false}
        placeholder={promptMode.value === 'ids' ? 'token ids, e.g. 1, 2, 3' : 'Type a prompt'}
        value={prompt.value}
        onInput={(e) => (prompt.value = (e.currentTarget as HTMLTextAreaElement).value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void generate();
        }}
      />
      <div class="row">
        <button data-testid="generate" disabled={!canGenerate} onClick={() => void generate()} title="Ctrl+Enter">
          Generate
        </button>
        <button class="danger" data-testid="stop" disabled={p !== 'generating'} onClick={() => void stop()}>
          Stop
        </button>
        <span class="status" data-testid="status" data-phase={p}>
          {statusText.value}
        </span>
      </div>
      <h2>Output</h2>
      <pre class={`output${p === 'generating' ? ' live' : ''}`}>
        <span class="prompt-echo" data-testid="prompt-echo">
          {runPrompt.value}
        </span>
        <span data-testid="output-text">
          <TokenOutput />
        </span>
      </pre>
      <details class="ids">
        <summary>
          token ids: <span data-testid="prompt-token-count">{promptIds.value.length}</span> prompt,{' '}
          <span data-testid="token-count">{outputIds.value.length}</span> generated
        </summary>
        <code data-testid="output-ids">{outputIds.value.join(' ')}</code>
      </details>
    </section>
  );
}
