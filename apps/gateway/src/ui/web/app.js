// Klaxon's dashboard: Preact with htm (tagged templates, no build step), served by the gateway with its
// vendor modules. Every value from the API is rendered as text by Preact; nothing is set as HTML, so a
// finding title or a Falco command line holding markup shows as the characters it is.
import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';

const html = htm.bind(h);
const POLL_MS = 3000;
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];

const session = { scope: '', csrf: '' };
const listeners = new Set();
const setSession = (next) => {
  Object.assign(session, next);
  for (const l of listeners) l();
};

async function request(path, { method = 'GET', body, text = false } = {}) {
  const headers = {};
  if (method !== 'GET') headers['x-klaxon-csrf'] = session.csrf;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && path !== '/ui/session') {
    setSession({ scope: '', csrf: '' });
    throw new Error('signed out');
  }
  const raw = await res.text();
  if (!res.ok) {
    let message = res.statusText;
    try {
      message = JSON.parse(raw).message ?? message;
    } catch {
      // Not JSON: the status text says it.
    }
    throw new Error(message);
  }
  if (text) return raw;
  return raw ? JSON.parse(raw) : null;
}

/** Reads `path` now and every few seconds while the page is visible: the views update without a reload. */
function usePoll(path) {
  const [state, setState] = useState({ data: undefined, error: undefined });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer;
    const load = async () => {
      if (!document.hidden) {
        try {
          const data = await request(path);
          if (!stopped) setState({ data, error: undefined });
        } catch (err) {
          if (!stopped) setState((s) => ({ ...s, error: err.message }));
        }
      }
      if (!stopped) timer = setTimeout(load, POLL_MS);
    };
    load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [path, tick]);
  return [state.data, state.error, () => setTick((t) => t + 1)];
}

function useHash() {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

const enc = encodeURIComponent;
const isAdmin = () => session.scope === 'admin';
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const Sev = ({ s }) => html`<span class="sev sev-${SEVERITIES.includes(s) ? s : 'info'}">${s}</span>`;
const Status = ({ s }) => html`<span class="status-${s}">${s}</span>`;
const workloadName = (w) => (w ? [w.namespace, w.name].filter(Boolean).join('/') || w.kind || '' : '');

function Loading({ error }) {
  return error ? html`<p class="error" role="alert">${error}</p>` : html`<p class="muted">Loading…</p>`;
}

/** A row that opens a page: a link in its first cell keeps it keyboard reachable. */
function RowLink({ href, children }) {
  return html`<tr class="row-link" onClick=${(e) => e.target.tagName !== 'A' && (location.hash = href)}>${children}</tr>`;
}

function Action({ label, run, className = '', disabled = false }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const go = async () => {
    setBusy(true);
    setError('');
    try {
      await run();
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<button class=${className} disabled=${busy || disabled} onClick=${go}>${label}</button>${error && html` <span class="error" role="alert">${error}</span>`}`;
}

function Chart({ days, series, height = 180 }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current || !days.length) return undefined;
    const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const chart = new uPlot(
      {
        width: Math.max(box.current.clientWidth, 300),
        height,
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: true } }))],
        axes: [{}, { size: 40 }],
        scales: { x: { time: true } },
      },
      [xs, ...series.map((s) => s.values)],
      box.current,
    );
    return () => chart.destroy();
  }, [JSON.stringify(days), JSON.stringify(series)]);
  return html`<div ref=${box} role="img" aria-label=${series.map((s) => `${s.label}: ${s.values.join(', ')}`).join('; ')}></div>`;
}

function Bars({ counts, href }) {
  const max = Math.max(1, ...Object.values(counts));
  return html`<div class="bars">
    ${Object.entries(counts).map(
      ([name, n]) => html`<div class="bar">
        <a href=${href(name)}>${name}</a>
        <div class="fill" style=${{ width: `${(100 * n) / max}%`, background: `var(--${name}, var(--accent))` }}></div>
        <span>${n}</span>
      </div>`,
    )}
  </div>`;
}

function Overview() {
  const [data, error] = usePoll('/v1/overview?days=14');
  if (!data) return html`<${Loading} error=${error} />`;
  const { open, daily, sent, failed } = data;
  return html`<h1>Overview</h1>
    <div class="grid">
      <section class="panel" aria-labelledby="open-h">
        <h2 id="open-h">Open findings</h2>
        <div class="big" data-testid="open-total">${open.total}</div>
        <${Bars} counts=${Object.fromEntries(SEVERITIES.map((s) => [s, open.bySeverity[s] ?? 0]))} href=${(s) => `#/findings?severity=${s}`} />
      </section>
      <section class="panel" aria-labelledby="kind-h">
        <h2 id="kind-h">By kind</h2>
        <${Bars} counts=${Object.fromEntries(Object.entries(open.byKind).filter(([, n]) => n > 0))} href=${(k) => `#/findings?kind=${k}`} />
      </section>
      <section class="panel" aria-labelledby="failed-h">
        <h2 id="failed-h">What failed</h2>
        <p><a href="#/failed">${failed.quarantined} quarantined input(s)</a></p>
        <p><a href="#/failed">${failed.deadLetters} dead letter(s)</a></p>
      </section>
    </div>
    <section class="panel" aria-labelledby="daily-h">
      <h2 id="daily-h">New and resolved per day</h2>
      <${Chart}
        days=${daily.map((d) => d.day)}
        series=${[
          { label: 'new', color: '#b42318', values: daily.map((d) => d.new + d.regressed) },
          { label: 'resolved', color: '#2e7d32', values: daily.map((d) => d.resolved) },
        ]}
      />
    </section>
    <section class="panel" aria-labelledby="sent-h">
      <h2 id="sent-h">Notifications sent per destination</h2>
      <table>
        <thead><tr><th>destination</th><th>sent</th></tr></thead>
        <tbody>
          ${Object.entries(sent).map(([d, n]) => html`<tr><td>${d}</td><td>${n}</td></tr>`)}
          ${Object.keys(sent).length === 0 && html`<tr><td colspan="2" class="muted">nothing sent yet</td></tr>`}
        </tbody>
      </table>
    </section>`;
}

function Findings({ query }) {
  const [offset, setOffset] = useState(0);
  const params = new URLSearchParams(query);
  const state = params.get('state') ?? 'open';
  const filters = new URLSearchParams({ state, limit: '50', offset: String(offset) });
  for (const k of ['kind', 'severity', 'workload', 'repo', 'image']) if (params.get(k)) filters.set(k, params.get(k));
  const [data, error] = usePoll(`/v1/findings?${filters}`);
  const setFilter = (k, v) => {
    const next = new URLSearchParams(query);
    if (v) next.set(k, v);
    else next.delete(k);
    setOffset(0);
    location.hash = `#/findings?${next}`;
  };
  return html`<h1>Findings</h1>
    <div class="toolbar">
      <label>state <select value=${state} onChange=${(e) => setFilter('state', e.target.value)}>
        ${['open', 'resolved', 'suppressed'].map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>severity <select value=${params.get('severity') ?? ''} onChange=${(e) => setFilter('severity', e.target.value)}>
        <option value="">any</option>${SEVERITIES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label>
      <label>kind <select value=${params.get('kind') ?? ''} onChange=${(e) => setFilter('kind', e.target.value)}>
        <option value="">any</option>
        ${['vulnerability', 'misconfiguration', 'compliance', 'policy', 'runtime', 'code', 'secret', 'suggestion'].map((k) => html`<option value=${k}>${k}</option>`)}
      </select></label>
      ${data && html`<span class="muted" data-testid="findings-total">${data.total} finding(s)</span>`}
    </div>
    ${
      !data
        ? html`<${Loading} error=${error} />`
        : html`<table data-testid="findings">
          <thead><tr><th>severity</th><th>finding</th><th>kind</th><th>where</th><th>risk</th><th>last seen</th></tr></thead>
          <tbody>
            ${data.items.map(
              (f) => html`<${RowLink} href=${`#/finding/${enc(f.fingerprint)}`}>
                <td><${Sev} s=${f.severity} /></td>
                <td><a href=${`#/finding/${enc(f.fingerprint)}`}>${f.title}</a></td>
                <td>${f.kind}</td>
                <td>${workloadName(f.workload) || f.artifact?.repository || f.code?.repo || ''}</td>
                <td>${f.risk?.score ?? ''}</td>
                <td>${when(f.lastSeen)}</td>
              <//>`,
            )}
          </tbody>
        </table>
        <div class="toolbar">
          <button disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - 50))}>Previous</button>
          <button disabled=${offset + 50 >= data.total} onClick=${() => setOffset(offset + 50)}>Next</button>
        </div>`
    }`;
}

/** Boxes in columns, each joined to every box of the next column: commit and PR → image → workloads → runtime. */
function ChainPicture({ columns }) {
  const W = 220;
  const GAP = 60;
  const BOX = 46;
  const rows = Math.max(1, ...columns.map((c) => c.nodes.length));
  const height = 40 + rows * (BOX + 14);
  const y = (i) => 36 + i * (BOX + 14);
  const x = (c) => 10 + c * (W + GAP);
  const clip = (s, n = 32) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
  return html`<svg viewBox=${`0 0 ${columns.length * (W + GAP)} ${height}`} role="img" aria-label="The chain behind this finding" data-testid="chain">
    ${columns.map((col, c) => html`<text class="col-title" x=${x(c)} y="20">${col.title}</text>`)}
    ${columns
      .slice(0, -1)
      .flatMap((col, c) =>
        col.nodes.flatMap((_, i) =>
          columns[c + 1].nodes.map((__, j) => html`<line x1=${x(c) + W} y1=${y(i) + BOX / 2} x2=${x(c + 1)} y2=${y(j) + BOX / 2} />`),
        ),
      )}
    ${columns.flatMap((col, c) =>
      col.nodes.map(
        (node, i) => html`<g class=${`node ${col.kind ?? ''} ${node.missing ? 'missing' : ''}`}>
          <title>${[node.label, node.detail].filter(Boolean).join('\n')}</title>
          <rect x=${x(c)} y=${y(i)} width=${W} height=${BOX} rx="8" />
          <text x=${x(c) + 8} y=${y(i) + 19}>${clip(node.label)}</text>
          ${node.detail && html`<text x=${x(c) + 8} y=${y(i) + 36} class="muted">${clip(node.detail)}</text>`}
        </g>`,
      ),
    )}
  </svg>`;
}

function chainOf(f, runtime) {
  const build = f.context?.builtFrom;
  const repo = f.code?.repo ?? build?.repo;
  const commit = f.code?.commit ?? build?.commit;
  const prs = [...new Set([f.code?.pullRequest, ...(build?.pullRequests ?? [])].filter((p) => p !== undefined && p !== null))];
  const code =
    repo || commit
      ? [
          {
            label: repo ?? 'unknown repository',
            detail: [commit && `commit ${commit.slice(0, 12)}`, ...prs.map((p) => `PR #${p}`)].filter(Boolean).join(' · '),
          },
        ]
      : [];
  const digests = [...new Set([f.context?.image?.digest, f.artifact?.digest, ...(f.digests ?? [])].filter(Boolean))];
  const images = digests.map((d) => ({
    label: d.replace(/^sha256:/, 'sha256:').slice(0, 19) + '…',
    detail: [f.artifact?.repository, f.artifact?.tag].filter(Boolean).join(':'),
  }));
  const running = (f.context?.runsIn ?? []).map((w) => ({
    label: w.id.split('/').slice(1).join('/'),
    detail: [w.environment, ...(w.exposedVia ?? [])].filter(Boolean).join(' · '),
  }));
  const workloads = running.length ? running : (f.workloads ?? []).map((w) => ({ label: w, detail: '' }));
  const detections = runtime.map((r) => ({ label: r.title, detail: `${r.severity} · ${workloadName(r.workload)}` }));
  const or = (nodes, label) => (nodes.length ? nodes : [{ label, missing: true }]);
  return [
    { title: 'Commit and pull request', nodes: or(code, 'not known yet') },
    { title: 'Image digest (tags)', nodes: or(images, 'no image') },
    { title: 'Workloads', nodes: or(workloads, 'not seen running') },
    { title: 'Runtime detections', kind: 'runtime', nodes: or(detections, 'none') },
  ];
}

/** `<namespace>/<name>` of a workload id, `cluster/namespace/kind/name` (a cluster name may hold slashes). */
function namespaceAndName(id) {
  const parts = id.split('/');
  return `${parts[parts.length - 3]}/${parts[parts.length - 1]}`;
}

function useRuntimeDetections(f) {
  const [found, setFound] = useState([]);
  const places = f
    ? (f.context?.runsIn?.map((w) => namespaceAndName(w.id)) ??
      (f.workload?.namespace && f.workload?.name ? [`${f.workload.namespace}/${f.workload.name}`] : []))
    : [];
  const key = places.slice(0, 4).join(',');
  useEffect(() => {
    if (!key) return setFound(f?.kind === 'runtime' ? [f] : []);
    request(`/v1/findings?kind=runtime&state=open&limit=10&workload=${enc(key)}`)
      .then((page) => setFound(page.items))
      .catch(() => setFound([]));
  }, [key, f?.fingerprint, f?.lastSeen]);
  return found;
}

function Finding({ fingerprint }) {
  const [f, error] = usePoll(`/v1/findings/${enc(fingerprint)}`);
  const runtime = useRuntimeDetections(f);
  if (!f) return html`<${Loading} error=${error} />`;
  return html`<p><a href="#/findings">← Findings</a></p>
    <h1 data-testid="finding-title">${f.title}</h1>
    <p><${Sev} s=${f.severity} /> <strong>${f.state}</strong> · ${f.kind} · first seen ${when(f.firstSeen)} · last seen ${when(f.lastSeen)} · seen ${f.occurrences}×</p>
    <div class="grid">
      <section class="panel"><h2>Risk ${f.risk?.score ?? '—'}</h2>
        <ul class="reasons">${(f.risk?.reasons ?? []).map((r) => html`<li>${r}</li>`)}</ul></section>
      <section class="panel"><h2>Where it was routed, and why</h2>
        ${
          f.routes?.length
            ? html`<ul class="reasons">${f.routes.map((r) => html`<li><strong>${r.to.join(', ') || 'no destination'}</strong> by route ${r.path} (${r.matched.join(', ') || 'matches everything'})</li>`)}</ul>`
            : html`<p class="muted">no route matches it</p>`
        }
        ${
          f.exception
            ? html`<p>Covered by exception <strong>${f.exception.id}</strong>: ${f.exception.reason} (${f.exception.owner}, ${f.exception.permanent ? 'permanent' : `until ${when(f.exception.expires)}`})</p>`
            : html`<p class="muted">No exception covers it.</p>`
        }
      </section>
    </div>
    <section class="chain"><h2>The chain behind it</h2><${ChainPicture} columns=${chainOf(f, runtime)} /></section>
    ${f.remediation && html`<section class="panel"><h2>Remediation</h2><p>${f.remediation}</p></section>`}
    ${f.description && html`<section class="panel"><h2>Details</h2><pre data-testid="finding-description">${f.description}</pre></section>`}
    <h2>Sources</h2>
    <p>${(f.sources ?? []).map((s) => html`<span class="pill">${s}</span>`)}</p>
    <h2>History</h2>
    <table><thead><tr><th>when</th><th>state</th><th>why</th></tr></thead>
      <tbody>${(f.history ?? []).map((e) => html`<tr><td>${when(e.at)}</td><td>${e.state}</td><td>${e.cause}</td></tr>`)}</tbody>
    </table>`;
}

function Workloads() {
  const [data, error] = usePoll('/v1/risk/workloads?limit=100');
  if (!data) return html`<${Loading} error=${error} />`;
  return html`<h1>Workloads by risk</h1>
    <table data-testid="workloads">
      <thead><tr><th>risk</th><th>workload</th><th>environment</th><th>exposure</th><th>findings</th><th>top findings and why</th></tr></thead>
      <tbody>
        ${data.items.map(
          (w) => html`<tr>
            <td class="big">${w.risk}</td>
            <td>${w.workload.cluster ? `${w.workload.cluster} · ` : ''}${w.workload.namespace}/${w.workload.kind} ${w.workload.name}</td>
            <td>${w.workload.environment ?? '—'}</td>
            <td>${(w.workload.exposedVia ?? []).join(', ') || 'internal'}${(w.workload.privileges ?? []).length ? html`<br /><span class="muted">${w.workload.privileges.join(', ')}</span>` : ''}</td>
            <td>${w.findings.total} (${w.findings.atLeast70} ≥ 70)</td>
            <td>${w.top.map(
              (t) => html`<details><summary><${Sev} s=${t.severity} /> <a href=${`#/finding/${enc(t.fingerprint)}`}>${t.rule}</a> ${t.score}</summary>
                <ul class="reasons">${t.reasons.map((r) => html`<li>${r}</li>`)}</ul></details>`,
            )}</td>
          </tr>`,
        )}
        ${data.items.length === 0 && html`<tr><td colspan="6" class="muted">no running workloads known yet</td></tr>`}
      </tbody>
    </table>`;
}

function Compliance() {
  const [data, error] = usePoll('/v1/compliance');
  if (!data) return html`<${Loading} error=${error} />`;
  return html`<h1>Compliance</h1>
    ${data.standards.length === 0 && html`<p class="muted">No compliance report yet: kube-bench, Kyverno Pod Security Standards policies and Trivy Operator ClusterComplianceReports show here.</p>`}
    ${data.standards.map((s) => {
      const trend = data.trend.filter((p) => p.standard === s.id);
      return html`<section class="panel" data-testid=${`standard-${s.id}`}>
        <h2>${s.title}</h2>
        <p><span class="status-fail">${s.failing} failing</span> · <span class="status-warn">${s.warning} to check</span> · <span class="status-pass">${s.passing} passing</span></p>
        ${
          trend.length > 1 &&
          html`<${Chart} height=${120} days=${trend.map((p) => p.day)} series=${[
            { label: 'failing controls', color: '#b42318', values: trend.map((p) => p.failing) },
            { label: 'passing controls', color: '#2e7d32', values: trend.map((p) => p.passing) },
          ]} />`
        }
        <table>
          <thead><tr><th>status</th><th>control</th><th>where</th><th>findings and remediation</th></tr></thead>
          <tbody>
            ${s.controls.map(
              (c) => html`<tr data-testid=${`control-${c.id}`}>
                <td><${Status} s=${c.status} /></td>
                <td><strong>${c.id}</strong> ${c.title} ${c.severity ? html`<${Sev} s=${c.severity} />` : ''}</td>
                <td>${c.scopes.map((p) => html`<span class="pill">${[p.cluster, p.namespace].filter(Boolean).join('/') || 'cluster'}: ${p.status}${p.failed ? ` (${p.failed} failing)` : ''}</span>`)}</td>
                <td>${
                  c.status === 'pass'
                    ? ''
                    : html`<details><summary>${c.findings.length} finding(s)</summary>
                      <ul class="reasons">${c.findings.map((f) => html`<li><a href=${`#/finding/${enc(f.fingerprint)}`}>${f.title}</a> (${f.state})</li>`)}</ul>
                      ${c.remediation && html`<p><strong>Fix:</strong> ${c.remediation}</p>`}
                    </details>`
                }</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </section>`;
    })}`;
}

function Suggestions() {
  const [data, error, reload] = usePoll('/v1/suggestions?limit=100');
  if (!data) return html`<${Loading} error=${error} />`;
  const proposals = data.proposals ?? [];
  return html`<h1>Suggestions</h1>
    <p class="muted">One hardening proposal per workload, derived from what runtime sensors saw, with a section per rule; lower-priority hygiene is listed apart.</p>
    <div data-testid="suggestions">
      ${proposals.map(
        (p) => html`<section class="panel" data-testid=${p.tier === 'proposal' ? 'proposal' : 'proposal-lower'}>
          <h2><${Sev} s=${p.severity} /> ${p.title}</h2>
          <p class="muted">${p.sections.length} change(s) · ${p.evidence.count} detection(s) by ${p.evidence.sources.join(', ')} · last ${when(p.evidence.lastSeen)}</p>
          <table>
            <thead><tr><th>priority</th><th>suggestion</th><th>evidence</th><th>adopted</th><th></th></tr></thead>
            <tbody>
              ${p.sections.map(
                (s) => html`<tr>
                  <td><${Sev} s=${s.priority} /></td>
                  <td><a href=${`#/suggestion/${enc(s.id)}`}>${s.title}</a>${s.lowerBecause ? html` <span class="muted">(${s.lowerBecause})</span>` : ''}</td>
                  <td>${s.evidence.count} event(s), last ${when(s.evidence.lastSeen)}</td>
                  <td>${s.adoptedAt ? when(s.adoptedAt) : 'no'}</td>
                  <td>${isAdmin() && html`<${AdoptButton} id=${s.id} adopted=${!!s.adoptedAt} done=${reload} />`}</td>
                </tr>`,
              )}
            </tbody>
          </table>
          ${p.changes.securityContextPatch && html`<details><summary>securityContext patch (every rule of this proposal)</summary><pre>${p.changes.securityContextPatch}</pre></details>`}
          ${p.changes.dockerfile.length > 0 && html`<details><summary>Dockerfile changes</summary><ul>${p.changes.dockerfile.map((d) => html`<li>${d}</li>`)}</ul></details>`}
        </section>`,
      )}
      ${proposals.length === 0 && html`<p class="muted">no suggestions yet</p>`}
    </div>`;
}

function AdoptButton({ id, adopted, done }) {
  return html`<${Action}
    label=${adopted ? 'Unadopt' : 'Adopt'}
    className=${adopted ? '' : 'primary'}
    run=${async () => {
      await request(`/v1/suggestions/${enc(id)}/adopt`, { method: adopted ? 'DELETE' : 'POST' });
      done();
    }}
  />`;
}

function Copy({ text }) {
  const [copied, setCopied] = useState(false);
  return html`<button onClick=${async () => {
    await navigator.clipboard?.writeText(text);
    setCopied(true);
    setTimeout(() => setCopied(false), 1500);
  }}>${copied ? 'Copied' : 'Copy YAML'}</button>`;
}

function Suggestion({ id }) {
  const [s, error, reload] = usePoll(`/v1/suggestions/${enc(id)}`);
  const [yaml, setYaml] = useState('');
  useEffect(() => {
    request(`/v1/suggestions/${enc(id)}?format=yaml`, { text: true })
      .then(setYaml)
      .catch(() => setYaml(''));
  }, [id, s?.evidence?.count]);
  if (!s) return html`<${Loading} error=${error} />`;
  return html`<p><a href="#/suggestions">← Suggestions</a></p>
    <h1>${s.rule.title}</h1>
    <p><${Sev} s=${s.rule.severity} /> on ${workloadName(s.workload)} ${s.image?.repository ? `· ${s.image.repository}` : ''} · ${s.adoptedAt ? `adopted ${when(s.adoptedAt)}` : 'not adopted'}
      ${isAdmin() && html` <${AdoptButton} id=${s.id} adopted=${!!s.adoptedAt} done=${reload} />`}</p>
    <section class="panel"><h2>Evidence</h2>
      <p>${s.evidence.count} detection(s) from ${when(s.evidence.firstSeen)} to ${when(s.evidence.lastSeen)}</p>
      <table><thead><tr><th>detection</th><th>by</th><th>count</th><th>samples</th></tr></thead>
        <tbody>${s.evidence.detections.map((d) => html`<tr><td>${d.rule}</td><td>${d.tool}</td><td>${d.count}</td><td>${(d.samples ?? []).map((x) => html`<code class="pill">${x}</code>`)}</td></tr>`)}</tbody></table>
    </section>
    <section><h2>Policies and changes</h2><div class="toolbar"><${Copy} text=${yaml} /></div><pre data-testid="suggestion-yaml">${yaml}</pre></section>`;
}

function Exceptions() {
  const [data, error, reload] = usePoll('/v1/exceptions');
  const [form, setForm] = useState({ match: '', reason: '', owner: '', expires: '' });
  const [problem, setProblem] = useState('');
  if (!data) return html`<${Loading} error=${error} />`;
  const { items } = data;
  const soon = (e) => !e.permanent && e.expires && Date.parse(e.expires) - Date.now() < 7 * 86_400_000;
  const submit = async (ev) => {
    ev.preventDefault();
    setProblem('');
    try {
      await request('/v1/exceptions', {
        method: 'POST',
        body: {
          match: form.match
            .split('\n')
            .map((m) => m.trim())
            .filter(Boolean),
          reason: form.reason,
          owner: form.owner,
          expires: form.expires ? new Date(form.expires).toISOString() : undefined,
        },
      });
      setForm({ match: '', reason: '', owner: '', expires: '' });
      reload();
    } catch (err) {
      setProblem(err.message);
    }
  };
  const field = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  return html`<h1>Exceptions</h1>
    <table data-testid="exceptions">
      <thead><tr><th>id</th><th>matches</th><th>reason</th><th>owner</th><th>expires</th><th></th></tr></thead>
      <tbody>
        ${items.map(
          (e) => html`<tr class=${soon(e) ? 'soon' : ''}>
            <td>${e.id}</td>
            <td>${e.match.map((m) => html`<code class="pill">${m}</code>`)}</td>
            <td>${e.reason}</td><td>${e.owner}</td>
            <td>${e.permanent ? 'never' : when(e.expires)}${soon(e) ? html` <strong>expires soon</strong>` : ''}</td>
            <td>${
              isAdmin() &&
              e.origin === 'api' &&
              html`<${Action} label="Delete" className="danger" run=${async () => {
                await request(`/v1/exceptions/${enc(e.id)}`, { method: 'DELETE' });
                reload();
              }} />`
            }</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${
      isAdmin() &&
      html`<h2>New exception</h2>
      <form class="stack" onSubmit=${submit}>
        <label>Matchers, one per line <textarea required rows="3" placeholder="rule = CVE-2021-44228" value=${form.match} onInput=${field('match')}></textarea></label>
        <label>Reason <input required value=${form.reason} onInput=${field('reason')} /></label>
        <label>Owner <input required value=${form.owner} onInput=${field('owner')} /></label>
        <label>Expires <input required type="datetime-local" value=${form.expires} onInput=${field('expires')} /></label>
        <div><button class="primary" type="submit">Create</button> ${problem && html`<span class="error" role="alert">${problem}</span>`}</div>
      </form>`
    }`;
}

function Failed() {
  const [quarantine, qError, reloadQ] = usePoll('/v1/quarantine?limit=100');
  const [dead, dError, reloadD] = usePoll('/v1/dead-letters?limit=100');
  return html`<h1>What failed</h1>
    <h2>Quarantined inputs</h2>
    ${
      !quarantine
        ? html`<${Loading} error=${qError} />`
        : html`<table data-testid="quarantine"><thead><tr><th>received</th><th>from</th><th>error</th><th></th></tr></thead>
          <tbody>
            ${quarantine.items.map(
              (e) => html`<tr><td>${when(e.receivedAt)}</td><td>${e.integration}${e.format ? ` (${e.format})` : ''}</td>
                <td>${e.error?.path ? html`<code>${e.error.path}</code>: ` : ''}${e.error?.message}</td>
                <td>${
                  isAdmin() &&
                  html`<${Action} label="Replay" run=${async () => {
                    await request(`/v1/quarantine/${enc(e.id)}/replay`, { method: 'POST' });
                    reloadQ();
                  }} />`
                }</td></tr>`,
            )}
            ${quarantine.items.length === 0 && html`<tr><td colspan="4" class="muted">nothing quarantined</td></tr>`}
          </tbody></table>`
    }
    <h2>Dead letters</h2>
    ${
      !dead
        ? html`<${Loading} error=${dError} />`
        : html`<table data-testid="dead-letters"><thead><tr><th>failed</th><th>queue</th><th>error</th><th></th></tr></thead>
          <tbody>
            ${dead.items.map(
              (d) => html`<tr><td>${when(d.failedAt)}</td><td>${d.queue}</td><td>${d.error.message}</td>
                <td>${
                  isAdmin() &&
                  html`<${Action} label="Replay" run=${async () => {
                    await request(`/v1/dead-letters/${enc(d.id)}/replay`, { method: 'POST' });
                    reloadD();
                  }} />`
                }</td></tr>`,
            )}
            ${dead.items.length === 0 && html`<tr><td colspan="4" class="muted">no dead letters</td></tr>`}
          </tbody></table>`
    }`;
}

function SignIn() {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState('');
  const submit = async (ev) => {
    ev.preventDefault();
    setProblem('');
    try {
      setSession(await request('/ui/session', { method: 'POST', body: { token } }));
    } catch (err) {
      setProblem(err.message);
    }
  };
  return html`<main class="login panel">
    <h1>Sign in to Klaxon</h1>
    <form class="stack" onSubmit=${submit}>
      <label>API token <input type="password" name="token" autocomplete="current-password" required autofocus value=${token} onInput=${(e) => setToken(e.target.value)} /></label>
      <div><button class="primary" type="submit">Sign in</button> ${problem && html`<span class="error" role="alert">${problem}</span>`}</div>
      <p class="muted">The token becomes a session cookie for this browser; it is not kept in the page.</p>
    </form>
  </main>`;
}

const PAGES = [
  ['#/', 'Overview'],
  ['#/findings', 'Findings'],
  ['#/workloads', 'Workloads'],
  ['#/compliance', 'Compliance'],
  ['#/suggestions', 'Suggestions'],
  ['#/exceptions', 'Exceptions'],
  ['#/failed', 'Failed'],
];

function page(hash) {
  const [path, query = ''] = hash.split('?');
  const [, name, arg] = path.split('/');
  switch (name) {
    case '':
      return html`<${Overview} />`;
    case 'findings':
      return html`<${Findings} query=${query} />`;
    case 'finding':
      return html`<${Finding} key=${arg} fingerprint=${decodeURIComponent(arg ?? '')} />`;
    case 'workloads':
      return html`<${Workloads} />`;
    case 'compliance':
      return html`<${Compliance} />`;
    case 'suggestions':
      return html`<${Suggestions} />`;
    case 'suggestion':
      return html`<${Suggestion} key=${arg} id=${decodeURIComponent(arg ?? '')} />`;
    case 'exceptions':
      return html`<${Exceptions} />`;
    case 'failed':
      return html`<${Failed} />`;
    default:
      return html`<p>No such page. <a href="#/">Overview</a></p>`;
  }
}

function App() {
  const hash = useHash();
  const [, rerender] = useState(0);
  const [checked, setChecked] = useState(false);
  useEffect(() => {
    const on = () => rerender((n) => n + 1);
    listeners.add(on);
    // The page loads its data at the same time: a call without a session answers 401 and signs out.
    request('/ui/session')
      .then((s) => setSession(s))
      .catch(() => setSession({ scope: '', csrf: '' }))
      .finally(() => setChecked(true));
    return () => listeners.delete(on);
  }, []);
  if (checked && !session.scope) return html`<${SignIn} />`;
  const current = `#/${hash.split('?')[0].split('/')[1] ?? ''}`;
  const active = (href) => href === current || (href === '#/findings' && current === '#/finding') || (href === '#/suggestions' && current === '#/suggestion');
  return html`<header>
      <span class="brand">Klaxon</span>
      <nav aria-label="Pages">${PAGES.map(([href, label]) => html`<a href=${href} aria-current=${active(href) ? 'page' : undefined}>${label}</a>`)}</nav>
      <span class="who">${!checked ? '' : session.scope === 'admin' ? 'admin' : 'read-only'}
        <button onClick=${async () => {
          await request('/ui/session', { method: 'DELETE' }).catch(() => undefined);
          setSession({ scope: '', csrf: '' });
        }}>Sign out</button></span>
    </header>
    <main>${page(hash)}</main>`;
}

// The page's "Loading…" placeholder is not Preact's to diff: it goes before the app draws.
const root = document.getElementById('app');
root.replaceChildren();
render(html`<${App} />`, root);
