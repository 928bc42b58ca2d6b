// Model picker: embedded models (models/manifest.json), a Hugging Face Hub repo id (+ revision, optional access
// token; the known-models table of the manifest as suggestions with parameters and bytes at the current precision),
// a local folder or files (pickers, or dropped onto the panel: files and whole folders), or any served folder URL.
// While a model loads: a progress bar with bytes and ETA, and Cancel. `?hub=<endpoint>` points the Hub field at
// another server with the Hub's URL layout (the tests' local stand-in). Hub cache (src/model/hub-cache.ts): "check
// for updates" (on: refresh 'auto', a cached branch is re-checked with one request when online; off: 'never', the
// cached copy with no request) and "Clear cached models" with the bytes the cache holds (the origin's storage use
// and quota in its tooltip); the load's freshness note ("offline: cached copy …") shows under load ms.
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { clearHubCache, hubCacheUsage, type HubCacheUsage } from '../../model/hub-cache';
import { engine, loadEmbedded, loadFiles, loadModel, urlSource } from '../actions';
import { fmtBytes, fmtCount } from '../format';
import { busy, embedded, known, type KnownModel, loadProgress, model, phase, selectedEmbedded, techniques } from '../state';

/** The Hub endpoint: ?hub=<url> (tests), else the Hub itself (undefined → https://huggingface.co). */
function hubEndpoint(): string | undefined {
  return new URLSearchParams(location.search).get('hub') ?? undefined;
}

/** The known table's bytes at the current precision (int4z shown as int4 g32: the zero-points add 1 bit/weight). */
function knownBytes(k: KnownModel): { label: string; bytes: number | undefined } {
  const p = techniques.value.quant.precision;
  const key = p === 'int8' ? 'int8_g32' : p === 'int4' || p === 'int4z' ? 'int4_g32' : p;
  return { label: key.replace('_', ' '), bytes: k.bytes[key] };
}

/** Files of a drop: plain files, and every file inside dropped folders (recursively), with their folder paths. */
async function droppedFiles(dt: DataTransfer): Promise<{ files: File[]; folder: string | null }> {
  const entries = [...dt.items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return { files: [...dt.files], folder: null };
  const out: { file: File; depth: number }[] = [];
  const walk = async (e: FileSystemEntry, depth: number): Promise<void> => {
    if (e.isFile) out.push({ file: await new Promise<File>((ok, bad) => (e as FileSystemFileEntry).file(ok, bad)), depth });
    else if (e.isDirectory) {
      const reader = (e as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, bad) => reader.readEntries(ok, bad)); // in batches until []
        if (batch.length === 0) break;
        for (const c of batch) await walk(c, depth + 1);
      }
    }
  };
  for (const e of entries) await walk(e, 0);
  const top = Math.min(...out.map((o) => o.depth)); // a dropped folder: its own files, not its subfolders (e.g. onnx/)
  const folder = entries.length === 1 && entries[0]!.isDirectory ? entries[0]!.name : null;
  return { files: out.filter((o) => o.depth === top).map((o) => o.file), folder };
}

async function onDrop(ev: DragEvent): Promise<void> {
  ev.preventDefault();
  if (busy.value || !ev.dataTransfer) return;
  const { files, folder } = await droppedFiles(ev.dataTransfer);
  if (files.length === 0) return;
  if (folder) void loadModel({ kind: 'files', files, name: folder });
  else void loadFiles(files);
}

function fmtEta(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '';
  const s = Math.ceil(ms / 1000);
  return s >= 60 ? ` · ${Math.floor(s / 60)} min ${s % 60} s left` : ` · ${s} s left`;
}

function LoadProgressView() {
  const p = loadProgress.value;
  if (phase.value !== 'loading') return null;
  return (
    <div class="row" data-testid="load-progress">
      <progress max={p?.total || 1} value={p ? p.loaded : 0} />
      <span class="small muted" data-testid="load-progress-text">
        {!p ? 'starting…' : p.phase !== 'download' ? `${p.phase}…` : `${fmtBytes(p.loaded)} / ${fmtBytes(p.total)} (${p.filesDone}/${p.files} files${p.cachedBytes ? `, ${fmtBytes(p.cachedBytes)} cached` : ''})${fmtEta(p.etaMs)}`}
      </span>
      <button class="secondary" data-testid="load-cancel" onClick={() => void engine.cancelLoad()}>
        Cancel
      </button>
    </div>
  );
}

/** "Clear cached models (12.3 MB)": the Hub cache's size, refreshed after each load and after clearing. */
function HubCacheControl() {
  const usage = useSignal<HubCacheUsage | null>(null);
  const refresh = () => void hubCacheUsage().then((u) => (usage.value = u), () => (usage.value = null));
  const m = model.value;
  useEffect(refresh, [m]);
  const u = usage.value;
  const origin = u && u.originUsage !== null ? `this site uses ${fmtBytes(u.originUsage)} of ${fmtBytes(u.originQuota)} of browser storage` : '';
  return (
    <button
      type="button"
      class="secondary"
      data-testid="hub-clear-cache"
      disabled={busy.value || !u || u.files === 0}
      title={`Delete every model file downloaded from the Hub (${u ? `${u.files} file${u.files === 1 ? '' : 's'}` : 'cache unavailable'})${origin ? `; ${origin}` : ''}`}
      onClick={() => void clearHubCache().then(refresh)}
    >
      Clear cached models{u ? ` (${fmtBytes(u.bytes)})` : ''}
    </button>
  );
}

function HubForm() {
  const repo = useSignal('');
  const revision = useSignal('');
  const token = useSignal('');
  const checkUpdates = useSignal(true);
  const dis = busy.value;
  const list = known.value;
  const picked = list.find((k) => k.repo === repo.value.trim());
  return (
    <form
      class="hub-form"
      data-testid="hub-form"
      onSubmit={(e) => {
        e.preventDefault();
        const r = repo.value.trim();
        if (r)
          void loadModel({
            kind: 'hub', repo: r, revision: revision.value.trim() || undefined, endpoint: hubEndpoint(), token: token.value.trim() || undefined,
            refresh: checkUpdates.value ? 'auto' : 'never',
          });
      }}
    >
      <input
        type="text"
        class="hub-repo"
        list="hub-known"
        placeholder="Hub repo, e.g. HuggingFaceTB/SmolLM2-135M"
        data-testid="hub-repo"
        value={repo.value}
        onInput={(e) => (repo.value = (e.currentTarget as HTMLInputElement).value)}
      />
      <datalist id="hub-known">
        {list.map((k) => {
          const b = knownBytes(k);
          return (
            <option key={k.repo} value={k.repo}>
              {`${k.architecture}, ${fmtCount(k.parameters)} params, ${fmtBytes(b.bytes)} at ${b.label}${k.gated ? ', gated' : ''}`}
            </option>
          );
        })}
      </datalist>
      <input type="text" placeholder="revision (main)" size={10} data-testid="hub-revision" value={revision.value} onInput={(e) => (revision.value = (e.currentTarget as HTMLInputElement).value)} />
      <input
        type="password"
        placeholder="access token (gated)"
        size={12}
        autocomplete="off"
        data-testid="hub-token"
        value={token.value}
        onInput={(e) => (token.value = (e.currentTarget as HTMLInputElement).value)}
      />
      <button type="submit" class="secondary" data-testid="load-hub" disabled={dis || !repo.value.trim()}>
        Load
      </button>
      <label class="small" title="On: a cached branch (main) is checked with one request and changed files downloaded again; offline, the cached copy. Off: the cached copy with no request. A commit id is never checked.">
        <input type="checkbox" data-testid="hub-check-updates" checked={checkUpdates.value} onChange={(e) => (checkUpdates.value = (e.currentTarget as HTMLInputElement).checked)} />{' '}
        check for updates
      </label>
      <HubCacheControl />
      {picked && (
        <span class="small muted" data-testid="hub-known-info">
          {picked.description ?? picked.architecture}: {fmtCount(picked.parameters)} parameters, {fmtBytes(knownBytes(picked).bytes)} at {knownBytes(picked).label}
          {picked.gated ? ' (gated: needs an access token)' : ''}
        </span>
      )}
    </form>
  );
}

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
      <dd title={`${ms.fetchFrom === 'cache' ? 'cache read' : ms.fetchFrom === 'local' ? 'disk read' : 'download'} / parse / upload / compile`}>
        {[ms.fetch, ms.parse, ms.upload, ms.compile].map((v) => Math.round(v)).join(' / ')}
        {ms.fetchFrom === 'cache' ? ' (cached)' : ''}
      </dd>
      {ms.fetchNote && (
        <>
          <dt>source</dt>
          <dd class="small muted" data-testid="model-fetch-note">
            {ms.fetchNote}
          </dd>
        </>
      )}
    </dl>
  );
}

export function ModelPanel() {
  const url = useSignal('');
  const list = embedded.value;
  const dis = busy.value;
  return (
    <section class="panel" data-testid="model-panel" onDragOver={(e) => e.preventDefault()} onDrop={(e) => void onDrop(e)}>
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
      <HubForm />
      <div class="row" title="or drop a model folder or its files onto this panel">
        <label class={`button secondary${dis ? ' disabled' : ''}`} title="A folder with config.json, model.safetensors (or model.safetensors.index.json and its shards), tokenizer.json">
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
      <LoadProgressView />
      <ModelInfoView />
    </section>
  );
}
