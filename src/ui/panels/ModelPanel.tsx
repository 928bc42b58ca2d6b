// Model picker: embedded models (models/manifest.json), a local folder or files, or any served folder URL.
import { useSignal } from '@preact/signals';
import { loadEmbedded, loadFiles, loadModel, urlSource } from '../actions';
import { fmtBytes, fmtCount } from '../format';
import { busy, embedded, model, selectedEmbedded } from '../state';

function pick(ev: Event): void {
  const input = ev.currentTarget as HTMLInputElement;
  if (input.files && input.files.length) void loadFiles(input.files);
  input.value = ''; // picking the same files again reloads
}

function ModelInfoView() {
  const m = model.value;
  if (!m) return <p class="muted" data-testid="model-info">No model loaded.</p>;
  const ms = m.loadMs;
  return (
    <dl class="kv" data-testid="model-info">
      <dt>name</dt>
      <dd data-testid="model-name">{m.name}</dd>
      <dt>architecture</dt>
      <dd>{m.architecture}</dd>
      <dt>parameters</dt>
      <dd data-testid="model-params">{fmtCount(m.parameters)}</dd>
      <dt>weights</dt>
      <dd>{fmtBytes(m.weightBytes)}</dd>
      <dt>vocab / context</dt>
      <dd>
        {m.vocabSize} / {m.maxSeq}
      </dd>
      <dt>tokenizer</dt>
      <dd>{m.hasTokenizer ? 'yes' : 'no (prompt with token ids)'}</dd>
      <dt>load ms</dt>
      <dd title="fetch / parse / upload / compile">
        {[ms.fetch, ms.parse, ms.upload, ms.compile].map((v) => Math.round(v)).join(' / ')}
      </dd>
    </dl>
  );
}

export function ModelPanel() {
  const url = useSignal('');
  const list = embedded.value;
  const dis = busy.value;
  return (
    <section class="panel" data-testid="model-panel">
      <h2>Model</h2>
      <div class="row">
        <select
          data-testid="model-select"
          value={selectedEmbedded.value}
          disabled={list.length === 0}
          onChange={(e) => (selectedEmbedded.value = (e.currentTarget as HTMLSelectElement).value)}
        >
          {list.length === 0 && <option value="">no embedded models</option>}
          {list.map((e) => (
            <option key={e.folder} value={e.folder} title={e.description}>
              {e.name}
              {e.role ? ` (${e.role})` : ''}
            </option>
          ))}
        </select>
        <button data-testid="load-embedded" disabled={dis || !selectedEmbedded.value} onClick={() => void loadEmbedded()}>
          Load
        </button>
      </div>
      <div class="row">
        <label class={`button secondary${dis ? ' disabled' : ''}`} title="A folder with config.json, model.safetensors, tokenizer.json">
          Folder…
          <input type="file" multiple disabled={dis} data-testid="file-folder" ref={(el) => { if (el) el.webkitdirectory = true; }} onChange={pick} />
        </label>
        <label class={`button secondary${dis ? ' disabled' : ''}`} title="config.json + model.safetensors [+ tokenizer.json, tokenizer_config.json]">
          Files…
          <input type="file" multiple disabled={dis} data-testid="file-files" onChange={pick} />
        </label>
      </div>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (url.value.trim()) void loadModel(urlSource(url.value.trim()));
        }}
      >
        <input
          type="text"
          placeholder="or a served folder URL"
          data-testid="model-url"
          value={url.value}
          onInput={(e) => (url.value = (e.currentTarget as HTMLInputElement).value)}
        />
        <button type="submit" class="secondary" data-testid="load-url" disabled={dis || !url.value.trim()}>
          Load
        </button>
      </form>
      <ModelInfoView />
    </section>
  );
}
