// crm-sync dashboard: plain DOM, no build. Every value reaches the page through textContent
// (never innerHTML), so a record's text cannot become markup. The access token (from the
// URL fragment crm-sync ui printed) is kept in sessionStorage and sent as a Bearer header.
'use strict';

const TOKEN_KEY = 'crm-sync-ui-token';
const POLL_MS = 2000;
const STATES = ['pending', 'sent', 'committed', 'rejected', 'unknown'];
const STATE_LABEL = { pending: 'pending', sent: 'sent', committed: 'committed', rejected: 'rejected', unknown: 'in doubt' };
const OPERATIONS = ['import', 'export', 'delete', 'import-deleted'];
const RUN_STATUSES = ['running', 'succeeded', 'failed', 'interrupted'];
const COLORS = { rate: '#1565c0', calls: '#6a1b9a', duration: '#00897b', records: '#ef6c00', retry: '#c62828', pause: '#f9a825' };

let timer = undefined;
let renderSeq = 0;

// ---------- small helpers ----------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
/** Replaces a node's children, skipping the absent ones (undefined, null, false). */
function setChildren(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((child) => child !== undefined && child !== null && child !== false));
}
const fmtNum = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '');
const fmtTime = (iso) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');
function fmtDuration(ms) {
  if (typeof ms !== 'number') return '';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 1000)}s`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}
const statusCell = (status, live) => el('span', { class: `status status-${status}` }, status === 'running' && live === false ? 'running (process gone)' : status);
function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/runs';
  const [path, query = ''] = raw.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}
function go(path, query) {
  const q = query ? query.toString() : '';
  location.hash = `#${path}${q ? `?${q}` : ''}`;
}

// ---------- API ----------
class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}
function authHeaders() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}
async function api(path, query) {
  const q = query ? `?${query.toString()}` : '';
  const response = await fetch(`/api/v1${path}${q}`, { headers: authHeaders() });
  let body;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// ---------- pages for bad state ----------
function problemCard(title, message, extra) {
  return el('div', { class: 'card problem', id: 'problem' }, el('h1', {}, title), el('p', {}, message), extra);
}
function showError(main, error) {
  setChildren(main);
  if (error instanceof ApiError && error.status === 401) {
    main.append(problemCard('Access token needed', 'This dashboard needs its access token. Open the URL that crm-sync ui printed (it ends with #token=…), or start it with CRM_SYNC_UI_TOKEN set and open http://host:port/#token=<token>.'));
  } else if (error instanceof ApiError && error.body && error.body.problem) {
    main.append(problemCard(error.body.problem.title, error.body.problem.message));
  } else {
    main.append(problemCard('The dashboard could not load this page', error instanceof Error ? error.message : String(error)));
  }
}

// ---------- plots ----------
function plotWidth(container) {
  return Math.max(320, Math.min(1200, (container.clientWidth || 800) - 8));
}
/** Vertical marks at the given x values (seconds), drawn over the plot. */
function marksPlugin(getMarks) {
  return {
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          ctx.save();
          for (const mark of getMarks()) {
            const x = Math.round(u.valToPos(mark.x, 'x', true));
            ctx.strokeStyle = mark.color;
            ctx.lineWidth = 2 * devicePixelRatio;
            ctx.setLineDash(mark.kind === 'pause' ? [6, 4] : []);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
}
/** Records per second, cumulative API calls, and the instants retries and rate-limit waits grew. */
function runPlotData(samples) {
  const xs = [];
  const rate = [];
  const calls = [];
  const marks = [];
  let previous;
  for (const s of samples) {
    const x = Date.parse(s.at) / 1000;
    xs.push(x);
    calls.push(s.apiCalls);
    if (previous === undefined) rate.push(0);
    else {
      const dt = (s.elapsedMs - previous.elapsedMs) / 1000;
      rate.push(dt > 0 ? Math.max(0, (Math.max(s.written, s.read) - Math.max(previous.written, previous.read)) / dt) : 0);
      if (s.retries > previous.retries) marks.push({ x, kind: 'retry', color: COLORS.retry });
      if (s.rateLimitWaitMs > previous.rateLimitWaitMs) marks.push({ x, kind: 'pause', color: COLORS.pause });
    }
    previous = s;
  }
  return { data: [xs, rate, calls], marks };
}
function runPlot(container, samples) {
  let current = runPlotData(samples);
  const opts = {
    width: plotWidth(container),
    height: 260,
    scales: { x: { time: true }, rate: {}, calls: {} },
    series: [
      {},
      { label: 'records/s', scale: 'rate', stroke: COLORS.rate, width: 2, points: { show: true, size: 5 } },
      { label: 'API calls (cumulative)', scale: 'calls', stroke: COLORS.calls, width: 2, points: { show: true, size: 5 } },
    ],
    axes: [{}, { scale: 'rate', label: 'records/s' }, { scale: 'calls', side: 1, label: 'API calls', grid: { show: false } }],
    plugins: [marksPlugin(() => current.marks)],
  };
  const plot = new uPlot(opts, current.data, container);
  return {
    update(next) {
      current = runPlotData(next);
      plot.setData(current.data);
    },
  };
}
function jobPlot(container, runs) {
  const ordered = [...runs].reverse();
  const data = [
    ordered.map((r) => Date.parse(r.startedAt) / 1000),
    ordered.map((r) => (typeof r.durationMs === 'number' ? r.durationMs / 1000 : null)),
    ordered.map((r) => r.records),
  ];
  const opts = {
    width: plotWidth(container),
    height: 200,
    scales: { x: { time: true }, s: {}, n: {} },
    series: [
      {},
      { label: 'duration (s)', scale: 's', stroke: COLORS.duration, width: 2, points: { show: true, size: 6 } },
      { label: 'records', scale: 'n', stroke: COLORS.records, width: 2, points: { show: true, size: 6 } },
    ],
    axes: [{}, { scale: 's', label: 'seconds' }, { scale: 'n', side: 1, label: 'records', grid: { show: false } }],
  };
  return new uPlot(opts, data, container);
}

// ---------- runs list ----------
async function renderRuns(main, query, seq) {
  const offset = Number(query.get('offset') || 0);
  const params = new URLSearchParams();
  for (const key of ['job', 'operation', 'status', 'since', 'until']) if (query.get(key)) params.set(key, query.get(key));
  params.set('offset', String(offset));
  params.set('limit', '50');
  const page = await api('/runs', params);
  if (seq !== renderSeq) return;
  const field = (name, input) => el('label', {}, name, input);
  const select = (name, values) =>
    el('select', { name }, el('option', { value: '' }, 'any'), values.map((v) => el('option', { value: v, selected: query.get(name) === v }, v)));
  const form = el(
    'form',
    {
      class: 'filters',
      id: 'run-filters',
      onsubmit: (event) => {
        event.preventDefault();
        const next = new URLSearchParams();
        for (const [key, value] of new FormData(event.target)) if (value) next.set(key, String(value));
        go('/runs', next);
      },
    },
    field('job', el('input', { name: 'job', value: query.get('job') || '', placeholder: 'instance/activity or activity', size: 26 })),
    field('operation', select('operation', OPERATIONS)),
    field('status', select('status', RUN_STATUSES)),
    field('since', el('input', { name: 'since', type: 'date', value: query.get('since') || '' })),
    field('until', el('input', { name: 'until', type: 'date', value: query.get('until') || '' })),
    el('button', { type: 'submit' }, 'Filter'),
  );
  const rows = page.runs.map((run) =>
    el(
      'tr',
      { class: 'link', 'data-run': run.runId, onclick: () => go(`/run/${encodeURIComponent(run.runId)}`) },
      el('td', {}, statusCell(run.status, run.live)),
      el('td', {}, run.jobId),
      el('td', {}, run.operation),
      el('td', { class: 'time' }, fmtTime(run.startedAt)),
      el('td', { class: 'num' }, fmtDuration(run.durationMs)),
      el('td', { class: 'num' }, fmtNum(run.counts.read)),
      el('td', { class: 'num' }, fmtNum(run.records)),
      el('td', { class: 'num' }, fmtNum(run.counts.rejected)),
      el('td', { class: 'num' }, fmtNum(run.counts.deleted)),
      el('td', { class: 'num' }, fmtNum(run.apiCalls.total)),
      el('td', {}, run.window ? `${fmtTime(run.window.start) || '…'} → ${fmtTime(run.window.end) || '…'}` : ''),
      el('td', { class: 'muted' }, [run.variables.crmOptionName, run.variables.crmStartImport, run.variables.crmEndDate].filter(Boolean).join(' · ')),
    ),
  );
  const pageTo = (to) => {
    const next = new URLSearchParams(query);
    next.set('offset', String(to));
    go('/runs', next);
  };
  const pager = el(
    'div',
    { class: 'pager' },
    el('button', { disabled: offset === 0, onclick: () => pageTo(Math.max(0, offset - page.limit)) }, '← newer'),
    el('span', { id: 'runs-count' }, page.total === 0 ? 'no runs' : `${fmtNum(offset + 1)}–${fmtNum(offset + page.runs.length)} of ${fmtNum(page.total)} runs`),
    el('button', { disabled: offset + page.runs.length >= page.total, onclick: () => pageTo(offset + page.limit) }, 'older →'),
  );
  const empty =
    page.total === 0
      ? el('div', { class: 'card', id: 'empty' }, query.toString() === '' || query.toString() === 'offset=0'
          ? 'No runs recorded yet. Run a job (crm-sync run job.yaml) or the demo (pnpm demo), then reload.'
          : 'No runs match these filters.')
      : undefined;
  setChildren(main, 
    el('h1', {}, 'Runs'),
    form,
    pager,
    empty,
    page.total === 0
      ? undefined
      : el(
          'table',
          { id: 'runs' },
          el('thead', {}, el('tr', {}, ['status', 'job', 'operation', 'started (UTC)', 'duration', 'read', 'written', 'rejected', 'deleted', 'API calls', 'window', 'variables'].map((h, i) => el('th', { class: i >= 4 && i <= 9 ? 'num' : undefined }, h)))),
          el('tbody', {}, rows),
        ),
  );
  if (page.runs.some((run) => run.status === 'running')) timer = setTimeout(() => route(), POLL_MS * 2);
}

// ---------- one run ----------
function runFacts(run) {
  const c = run.counts;
  const facts = [
    ['status', statusCell(run.status, run.live)],
    ['job', run.jobId],
    ['operation', run.operation],
    ['connector / account', `${run.connector || '-'} / ${run.account || '-'}`],
    ['host / pid', `${run.host} / ${run.pid}`],
    ['started (UTC)', fmtTime(run.startedAt)],
    ['ended (UTC)', fmtTime(run.endedAt) || '—'],
    ['duration', fmtDuration(run.durationMs) || '—'],
    ['records', `read ${fmtNum(c.read)} · written ${fmtNum(c.written)} · created ${fmtNum(c.created)} · updated ${fmtNum(c.updated)} · deleted ${fmtNum(c.deleted)} · unchanged ${fmtNum(c.unchanged)} · skipped ${fmtNum(c.skipped)} · rejected ${fmtNum(c.rejected)}`],
    ['API calls', `${fmtNum(run.apiCalls.total)} (${Object.entries(run.apiCalls.byKind).map(([k, v]) => `${k} ${v}`).join(', ') || '—'})`],
    ['errors and retries', `${fmtNum(c.errors)} errors · ${fmtNum(run.apiCalls.retries)} retries · ${fmtDuration(run.apiCalls.rateLimitWaitMs)} waited on rate limits`],
    ['window', run.window ? `${fmtTime(run.window.start) || '(first full read)'} → ${fmtTime(run.window.end) || '…'}` : '—'],
    ['crmOptionName', run.variables.crmOptionName || '—'],
    ['crmStartImport', run.variables.crmStartImport || '—'],
    ['crmEndDate', run.variables.crmEndDate || '—'],
  ];
  if (run.error) facts.push(['error', `${run.error.kind}: ${run.error.message}`]);
  if (run.notes.length > 0) facts.push(['notes', el('ul', {}, run.notes.map((n) => el('li', {}, n)))]);
  return el('dl', { class: 'facts', id: 'run-facts' }, facts.map(([k, v]) => [el('dt', {}, k), el('dd', { 'data-fact': k }, v)]));
}

async function renderRun(main, runId, query, seq) {
  const path = `/runs/${encodeURIComponent(runId)}`;
  const detail = await api(path);
  if (seq !== renderSeq) return;
  const search = query.get('search') || '';
  const rejectsBox = el('div', { id: 'rejects' });
  const journalBox = el('div', { id: 'journal' });
  const plotBox = el('div', { class: 'plot', id: 'run-plot' });
  const factsBox = el('div', { class: 'card' }, runFacts(detail.run));
  setChildren(main, 
    el('p', {}, el('a', { href: '#/runs' }, '← runs')),
    el('h1', {}, `Run ${detail.run.runId}`),
    factsBox,
    el('h2', {}, 'Progress'),
    el('div', { class: 'card' }, detail.samples.length === 0 ? el('p', { class: 'muted' }, 'No progress samples recorded for this run.') : plotBox,
      el('p', { class: 'legend-note' }, 'Solid red lines: retries; dashed yellow lines: rate-limit pauses.')),
    el('h2', {}, 'Export journal'),
    journalBox,
    el('h2', {}, 'Rejects'),
    rejectsBox,
  );
  const plot = detail.samples.length === 0 ? undefined : runPlot(plotBox, detail.samples);
  renderJournal(journalBox, runId, detail, query);
  await renderRejects(rejectsBox, runId, search, -1);
  if (detail.run.status !== 'running') return;
  // Live: poll the run while it runs and update in place (no reload).
  let rejectsTotal = detail.rejects.total;
  const poll = async () => {
    if (seq !== renderSeq) return;
    let next;
    try {
      next = await api(path);
    } catch {
      timer = setTimeout(poll, POLL_MS);
      return;
    }
    if (seq !== renderSeq) return;
    setChildren(factsBox, runFacts(next.run));
    if (plot) plot.update(next.samples);
    else if (next.samples.length > 0) return route();
    renderJournal(journalBox, runId, next, query);
    if (next.rejects.total !== rejectsTotal) {
      rejectsTotal = next.rejects.total;
      await renderRejects(rejectsBox, runId, (document.getElementById('reject-search') || {}).value || '', -1);
    }
    if (next.run.status === 'running') timer = setTimeout(poll, POLL_MS);
  };
  timer = setTimeout(poll, POLL_MS);
}

function renderJournal(box, runId, detail, query) {
  const journal = detail.journal;
  if (!journal) {
    setChildren(box, el('p', { class: 'muted' }, detail.run.operation === 'export' ? 'No export journal for this run.' : 'Only exports keep a journal.'));
    return;
  }
  const counts = el('p', { id: 'journal-counts' }, `journal run ${journal.run.runId} (${journal.run.status}): `, STATES.map((s) => el('span', { class: 'pill', 'data-state': s }, `${STATE_LABEL[s]} ${fmtNum(journal.counts[s])}`)));
  const resume = journal.resumeCommand ? el('p', { id: 'resume' }, 'This journal is open: resume it with ', el('code', {}, journal.resumeCommand)) : undefined;
  const state = query.get('state') || '';
  const select = el(
    'select',
    { id: 'journal-state', onchange: (event) => loadEntries(event.target.value) },
    el('option', { value: '' }, 'all states'),
    STATES.map((s) => el('option', { value: s, selected: state === s }, STATE_LABEL[s])),
  );
  const entries = el('div', { id: 'journal-entries' });
  const loadEntries = async (chosen) => {
    const params = new URLSearchParams({ limit: '100' });
    if (chosen) params.set('state', chosen);
    const page = await api(`/runs/${encodeURIComponent(runId)}/journal`, params);
    setChildren(entries, 
      el(
        'table',
        {},
        el('thead', {}, el('tr', {}, ['seq', 'local key', 'CRM id', 'state', 'action', 'attempts', 'reject', 'updated'].map((h) => el('th', {}, h)))),
        el('tbody', {}, page.entries.map((e) => el('tr', {}, el('td', {}, e.seq), el('td', {}, e.localKey), el('td', {}, e.crmId || ''), el('td', {}, STATE_LABEL[e.state]), el('td', {}, e.action || ''), el('td', { class: 'num' }, e.attempts), el('td', {}, e.reject ? `${e.reject.code}: ${e.reject.message}` : ''), el('td', {}, fmtTime(e.updatedAt))))),
      ),
      page.next !== undefined ? el('p', { class: 'muted' }, 'First 100 entries shown; GET /api/v1/runs/<id>/journal?after=<seq> pages on.') : undefined,
    );
  };
  if (!box.querySelector('#journal-entries')) {
    setChildren(box, el('div', { class: 'card' }, counts, resume, el('label', {}, 'entries: ', select), entries));
    loadEntries(state).catch((error) => setChildren(entries, problemCard('Journal entries could not be read', error.message)));
  } else {
    box.querySelector('#journal-counts').replaceWith(counts);
    const oldResume = box.querySelector('#resume');
    if (oldResume) oldResume.remove();
    if (resume) counts.after(resume);
    loadEntries(box.querySelector('#journal-state').value).catch(() => undefined);
  }
}

async function renderRejects(box, runId, search, after) {
  const params = new URLSearchParams({ limit: '100', after: String(after) });
  if (search) params.set('search', search);
  const page = await api(`/runs/${encodeURIComponent(runId)}/rejects`, params);
  const input = el('input', { id: 'reject-search', type: 'search', value: search, placeholder: 'search code, symbol, message, keys, fields', size: 40 });
  const form = el(
    'form',
    {
      class: 'filters',
      onsubmit: (event) => {
        event.preventDefault();
        renderRejects(box, runId, input.value, -1).catch((error) => setChildren(box, problemCard('Rejects could not be read', error.message)));
      },
    },
    el('label', {}, 'search', input),
    el('button', { type: 'submit' }, 'Search'),
    el('button', { type: 'button', id: 'download-csv', onclick: () => downloadCsv(runId, input.value) }, 'Download CSV'),
  );
  const rows = page.rejects.map((r) =>
    el('tr', { 'data-seq': r.seq }, el('td', { class: 'num' }, r.seq), el('td', {}, r.localKey || ''), el('td', {}, r.crmId || ''), el('td', {}, r.code), el('td', {}, r.symbol || ''), el('td', {}, r.message), el('td', {}, r.fields.join(', '))),
  );
  setChildren(box, 
    el('div', { class: 'card' },
      form,
      el('p', { id: 'rejects-count' }, search ? `${fmtNum(page.matching)} of ${fmtNum(page.total)} rejects match` : `${fmtNum(page.total)} rejects`),
      page.rejects.length === 0
        ? undefined
        : el('table', { id: 'rejects-table' },
            el('thead', {}, el('tr', {}, ['seq', 'local key', 'CRM id', 'kind', 'errorSymbol', 'errorMessage', 'fields'].map((h) => el('th', {}, h)))),
            el('tbody', {}, rows)),
      el('div', { class: 'pager' },
        after >= 0 ? el('button', { onclick: () => renderRejects(box, runId, search, -1) }, '← first') : undefined,
        page.next !== undefined ? el('button', { id: 'rejects-next', onclick: () => renderRejects(box, runId, search, page.next) }, 'next 100 →') : undefined),
    ),
  );
}

async function downloadCsv(runId, search) {
  const params = new URLSearchParams();
  if (search) params.set('search', search);
  const q = params.toString();
  const response = await fetch(`/api/v1/runs/${encodeURIComponent(runId)}/rejects.csv${q ? `?${q}` : ''}`, { headers: authHeaders() });
  if (!response.ok) {
    alert(`The CSV could not be downloaded (HTTP ${response.status}).`);
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = el('a', { href: url, download: `rejects-${runId}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ---------- jobs ----------
async function renderJobs(main, seq) {
  const { jobs } = await api('/jobs');
  if (seq !== renderSeq) return;
  setChildren(main, el('h1', {}, 'Jobs'));
  if (jobs.length === 0) {
    main.append(el('div', { class: 'card', id: 'empty' }, 'No runs recorded yet, so no jobs to show. Run a job (crm-sync run job.yaml) or the demo (pnpm demo), then reload.'));
    return;
  }
  for (const job of jobs) {
    const plotBox = el('div', { class: 'plot job-plot' });
    const wm = job.watermark;
    const watermark = wm
      ? el('dl', { class: 'facts' },
          el('dt', {}, 'watermark'), el('dd', {}, el('code', {}, wm.name), ' = ', wm.value !== undefined ? el('strong', {}, wm.value) : el('span', { class: 'muted' }, 'not set yet')),
          wm.updatedAt ? [el('dt', {}, 'updated'), el('dd', {}, fmtTime(wm.updatedAt))] : undefined,
          wm.meta && Object.keys(wm.meta).length > 0 ? [el('dt', {}, 'meta'), el('dd', {}, el('code', {}, JSON.stringify(wm.meta)))] : undefined)
      : el('p', { class: 'muted' }, 'No watermark (this job does not import).');
    const history = job.watermarkHistory.length === 0
      ? undefined
      : el('details', {}, el('summary', {}, `watermark history (${job.watermarkHistory.length} runs)`),
          el('table', {},
            el('thead', {}, el('tr', {}, ['run started', 'status', 'window start', 'window end', 'crmStartImport', 'crmEndDate'].map((h) => el('th', {}, h)))),
            el('tbody', {}, job.watermarkHistory.map((h) => el('tr', { class: 'link', onclick: () => go(`/run/${encodeURIComponent(h.runId)}`) },
              el('td', {}, fmtTime(h.startedAt)), el('td', {}, statusCell(h.status)), el('td', {}, fmtTime(h.window && h.window.start) || '—'), el('td', {}, fmtTime(h.window && h.window.end) || '—'),
              el('td', {}, h.variables.crmStartImport || '—'), el('td', {}, h.variables.crmEndDate || '—'))))));
    main.append(
      el('div', { class: 'card job', 'data-job': job.jobId },
        el('h2', {}, job.jobId),
        el('p', { class: 'muted' }, `${fmtNum(job.runs)} runs · last started ${fmtTime(job.lastStartedAt)} · `, el('a', { href: `#/runs?job=${encodeURIComponent(job.jobId)}` }, 'all runs')),
        el('div', { class: 'grid' }, el('div', {}, el('p', { class: 'legend-note' }, `last ${job.lastRuns.length} runs: duration and records`), plotBox), el('div', {}, watermark, history)),
      ),
    );
    jobPlot(plotBox, job.lastRuns);
  }
}

// ---------- workers ----------
async function renderWorkers(main, seq) {
  const answer = await api('/workers');
  if (seq !== renderSeq) return;
  setChildren(main, el('h1', {}, 'Workers and schedules'));
  if (!answer.inUse) {
    main.append(el('div', { class: 'card', id: 'workers-absent' }, 'Distributed workers not in use: runs are started by crm-sync run on this machine (or by your scheduler).'));
    return;
  }
  if (answer.error) {
    main.append(problemCard('The workers\u2019 status could not be read', answer.error.message));
    return;
  }
  const s = answer.status;
  const table = (id, headers, rows) => el('table', { id }, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))), el('tbody', {}, rows));
  main.append(
    el('p', { class: 'muted' }, `as of ${fmtTime(s.at)}`),
    el('h2', {}, 'Queues'),
    table('queues', ['queue', 'account', 'waiting', 'active', 'delayed', 'failed', 'completed', 'paused'], s.queues.map((q) =>
      el('tr', {}, el('td', {}, q.name), el('td', {}, q.account), el('td', { class: 'num' }, fmtNum(q.waiting)), el('td', { class: 'num' }, fmtNum(q.active)), el('td', { class: 'num' }, fmtNum(q.delayed)), el('td', { class: 'num' }, fmtNum(q.failed)), el('td', { class: 'num' }, fmtNum(q.completed)),
        el('td', {}, q.paused ? `paused${q.pausedUntil ? ` until ${fmtTime(q.pausedUntil)}` : ''}${q.pauseReason ? `: ${q.pauseReason}` : ''}` : 'no')))),
    el('h2', {}, 'Live workers'),
    s.workers.length === 0 ? el('p', { class: 'muted' }, 'No live worker.') : table('workers', ['id', 'host', 'pid', 'queue', 'started', 'last seen'], s.workers.map((w) =>
      el('tr', {}, el('td', {}, w.id), el('td', {}, w.host), el('td', { class: 'num' }, w.pid), el('td', {}, w.queue), el('td', {}, fmtTime(w.startedAt)), el('td', {}, fmtTime(w.lastSeen))))),
    el('h2', {}, 'Schedules'),
    s.schedules.length === 0 ? el('p', { class: 'muted' }, 'No schedule.') : table('schedules', ['id', 'queue', 'job', 'every', 'cron', 'next fire'], s.schedules.map((x) =>
      el('tr', {}, el('td', {}, x.id), el('td', {}, x.queue), el('td', {}, x.job), el('td', {}, x.every !== undefined ? fmtDuration(x.every) : ''), el('td', {}, x.cron || ''), el('td', {}, fmtTime(x.next))))),
  );
  timer = setTimeout(() => route(), POLL_MS * 5);
}

// ---------- router ----------
let status;
async function route() {
  clearTimeout(timer);
  const seq = ++renderSeq;
  const main = document.getElementById('main');
  delete main.dataset.ready;
  const { parts, query } = parseHash();
  for (const link of document.querySelectorAll('header nav a')) link.classList.toggle('active', link.dataset.nav === (parts[0] === 'run' ? 'runs' : parts[0]));
  try {
    if (status === undefined) {
      status = await api('/status');
      document.getElementById('database').textContent = status.database;
    }
    // The workers live in Redis: their page shows even when the database cannot be.
    if (parts[0] === 'workers') await renderWorkers(main, seq);
    else if (status.problem) setChildren(main, problemCard(status.problem.title, status.problem.message));
    else if (parts[0] === 'run' && parts[1]) await renderRun(main, parts[1], query, seq);
    else if (parts[0] === 'jobs') await renderJobs(main, seq);
    else await renderRuns(main, query, seq);
    if (seq === renderSeq) main.dataset.ready = String(seq);
  } catch (error) {
    if (seq === renderSeq) {
      status = error instanceof ApiError && error.status === 401 ? undefined : status;
      showError(main, error);
      main.dataset.ready = String(seq);
    }
  }
}

function start() {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, '', `${location.pathname}#/runs`);
  }
  window.addEventListener('hashchange', route);
  route();
}
start();
