// The browser check: gathers ICE candidates against natdiag serve's STUN and the TURN server,
// opens an ICE connection to a libnice peer inside natdiag serve over direct UDP, ICE-TCP and
// each TURN URI (relay only), shows one verdict and the details, and sends the result on request.
import { verdict, mapping, parseCandidate } from './verdict.mjs';

const $ = (id) => document.getElementById(id);
const GATHER_MS = 6000;
const CONNECT_MS = 8000;
const params = new URLSearchParams(location.search);

async function api(path, body) {
  const init = body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch(path, init);
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.error || `HTTP ${res.status}`);
  return json;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when ICE gathering completes or after MS, whichever is first. */
function gathered(pc, ms) {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') { resolve(); return; }
    const timer = setTimeout(resolve, ms);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
    });
  });
}

/** Resolves true when ICE connects, false when it fails or after MS. */
function connected(pc, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const look = () => {
      const s = pc.iceConnectionState;
      if (s === 'connected' || s === 'completed') { clearTimeout(timer); resolve(true); }
      if (s === 'failed') { clearTimeout(timer); resolve(false); }
    };
    pc.addEventListener('iceconnectionstatechange', look);
    look();
  });
}

function sdpValue(sdp, key) {
  const m = sdp.match(new RegExp(`^a=${key}:(.*)$`, 'm'));
  return m ? m[1].trim() : '';
}

function candidateLines(sdp) {
  return sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')).map((l) => l.slice(2));
}

/** The SDP answer for the server's ICE side: only ICE is real; the fingerprint is a dummy, so
 * DTLS never completes (we never need it: ICE connected is the signal). */
function answerSdp(mid, ice) {
  const fp = Array.from({ length: 32 }, () => Math.floor(Math.random() * 256).toString(16).padStart(2, '0').toUpperCase()).join(':');
  const lines = ['v=0', `o=- ${Date.now()} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', `a=group:BUNDLE ${mid}`,
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${ice.ufrag}`, `a=ice-pwd:${ice.pwd}`, `a=fingerprint:sha-256 ${fp}`, 'a=setup:active',
    `a=mid:${mid}`, 'a=sctp-port:5000', ...ice.candidates.map((c) => `a=${c}`), 'a=end-of-candidates'];
  return `${lines.join('\r\n')}\r\n`;
}

function seen(list, line, server) {
  const c = parseCandidate(line);
  if (c && !list.some((x) => x.type === c.type && x.transport === c.transport && x.address === c.address && x.port === c.port)) {
    list.push({ ...c, server });
  }
}

/** One connectivity check: NAME, the RTCPeerConnection configuration, the TURN URI or null. */
async function runCheck(name, config, url, candidates) {
  const started = performance.now();
  const pc = new RTCPeerConnection(config);
  const result = { name, url, result: 'fails', ms: null, detail: '' };
  try {
    pc.createDataChannel('natdiag');
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, GATHER_MS);
    const offer = pc.localDescription.sdp;
    const lines = candidateLines(offer);
    for (const l of lines) seen(candidates, l, url);
    if (lines.length === 0) {
      result.detail = url ? 'no relay candidate: the TURN server did not answer or refused' : 'no candidate';
      return result;
    }
    const ice = await api('/api/check', { check: name, ufrag: sdpValue(offer, 'ice-ufrag'), pwd: sdpValue(offer, 'ice-pwd'), candidates: lines });
    await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp(sdpValue(offer, 'mid') || '0', ice) });
    if (await connected(pc, CONNECT_MS)) {
      result.result = 'works';
      result.ms = Math.round(performance.now() - started);
      await sleep(300);
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type === 'candidate-pair' && s.state === 'succeeded' && s.currentRoundTripTime !== undefined) {
          result.rtt_ms = Math.round(s.currentRoundTripTime * 1000);
        }
      });
      result.detail = 'ICE connected';
    } else {
      result.detail = `ICE ${pc.iceConnectionState} after ${CONNECT_MS / 1000} s`;
    }
  } catch (e) {
    result.detail = String(e.message || e);
  } finally {
    pc.close();
  }
  return result;
}

/** Server-reflexive candidates against STUN addresses SERVERS (one local socket asks them all);
 * each candidate event names the STUN URL that produced it. */
async function stunGather(servers, candidates) {
  const pc = new RTCPeerConnection({ iceServers: servers.map((s) => ({ urls: `stun:${s}` })) });
  const srflx = [];
  pc.addEventListener('icecandidate', (e) => {
    const c = e.candidate && parseCandidate(e.candidate.candidate);
    if (!c || c.type !== 'srflx') return;
    const server = (e.candidate.url || `stun:${servers[0]}`).replace(/^stun:/, '');
    srflx.push({ server, address: c.address, port: c.port });
    seen(candidates, e.candidate.candidate, `stun:${server}`);
  });
  pc.createDataChannel('natdiag');
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, GATHER_MS);
  pc.close();
  return srflx;
}

function turnName(url) {
  if (url.startsWith('turns:')) return 'turn-tls';
  return /transport=tcp/i.test(url) ? 'turn-tcp' : 'turn-udp';
}

function row(table, cells, cls) {
  const tr = document.createElement('tr');
  cells.forEach((text, i) => {
    const td = document.createElement('td');
    td.textContent = text;
    if (cls && cls[i]) td.className = cls[i];
    tr.appendChild(td);
  });
  $(table).querySelector('tbody').appendChild(tr);
}

async function main() {
  const config = await api('/api/config');
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  const stun = config.stun.map((s) => s.replace(/^(0\.0\.0\.0|\[::\])/, host));
  const candidates = [];
  const turn = config.turn;
  const jobs = [
    runCheck('udp', { iceServers: [] }, null, candidates),
    runCheck('tcp', { iceServers: [] }, null, candidates),
    ...turn.map((t) => runCheck(turnName(t.urls), { iceServers: [t], iceTransportPolicy: 'relay' }, t.urls, candidates)),
  ];
  const shared = stunGather(stun, candidates);
  const alone = stun.map((s) => stunGather([s], []));
  const checks = await Promise.all(jobs);
  const srflx = await shared;
  const answered = (await Promise.all(alone)).filter((l) => l.length > 0).map((l) => l[0].server);
  const v = verdict(checks, turn.length > 0);
  const visible = candidates.filter((c) => !c.address.endsWith('.local'));
  const ipv6 = visible.some((c) => c.address.includes(':')) ? true
    : candidates.some((c) => c.type === 'host' && c.address.endsWith('.local')) ? null : false;
  const rtts = checks.map((c) => c.rtt_ms).filter((r) => r !== undefined);
  const report = {
    schema: 'natdiag/1',
    command: 'web-check',
    verdict: { id: v.id, headline: v.headline },
    checks: checks.map((c) => ({ name: c.name, url: c.url, result: c.result, ms: c.ms, rtt_ms: c.rtt_ms ?? null, detail: c.detail })),
    turn_configured: turn.length > 0,
    nat: { mapping: mapping(srflx, answered), stun_answered: answered, srflx: srflx.map((s) => ({ server: s.server, address: s.address.includes(':') ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}` })) },
    ipv6,
    rtt_ms: rtts.length ? Math.min(...rtts) : null,
    candidates: candidates.map((c) => ({ type: c.type, transport: c.transport, address: c.address, port: c.port, server: c.server ?? null })),
    user_agent: navigator.userAgent,
  };

  $('verdict').dataset.verdict = v.id;
  $('headline').textContent = v.headline;
  $('text').textContent = v.text;
  for (const n of v.notes) { const li = document.createElement('li'); li.textContent = n; $('notes').appendChild(li); }
  const names = { udp: 'direct UDP', tcp: 'ICE-TCP (direct TCP)', 'turn-udp': 'TURN over UDP', 'turn-tcp': 'TURN over TCP', 'turn-tls': 'TURN over TLS' };
  for (const c of checks) row('checks', [names[c.name] + (c.url ? ` (${c.url})` : ''), c.result, c.ms === null ? '' : `${c.ms} ms`, c.detail], [null, c.result]);
  if (turn.length === 0) row('checks', ['TURN', 'skipped', '', 'not configured on this server (serve --web without --turn)'], [null, 'skipped']);
  row('facts', ['NAT mapping (as the browser sees it)', report.nat.mapping]);
  row('facts', ['public addresses seen by STUN', report.nat.srflx.map((s) => `${s.address} (via ${s.server})`).join(', ') || 'none']);
  row('facts', ['IPv6', ipv6 === null ? 'unknown (the browser hides its local addresses)' : ipv6 ? 'yes' : 'no']);
  row('facts', ['round-trip time to the server', report.rtt_ms === null ? 'not measured' : `${report.rtt_ms} ms`]);
  const order = { host: 0, srflx: 1, prflx: 2, relay: 3 };
  candidates.sort((a, b) => order[a.type] - order[b.type] || a.transport.localeCompare(b.transport));
  for (const c of candidates) row('candidates', [c.type, c.transport, `${c.address}:${c.port}`, c.server || '']);

  const body = JSON.stringify(report, null, 2);
  $('payload').textContent = body;
  const send = async (auto) => {
    $('send').disabled = true;
    try {
      const r = await api('/api/result', report);
      $('send-status').textContent = auto ? 'Sent automatically (this link has ?send=1).' : 'Sent. Thank you!';
      document.body.dataset.sent = r.stored ? 'stored' : 'sent';
    } catch (e) {
      $('send-status').textContent = `Sending failed: ${e.message}`;
      document.body.dataset.sent = 'failed';
      $('send').disabled = false;
    }
  };
  $('send').addEventListener('click', () => send(false));
  $('send').disabled = false;
  if (params.get('send') === '1') await send(true);
  document.body.dataset.state = 'done';
}

main().catch((e) => {
  $('headline').textContent = 'The check could not run';
  $('text').textContent = String(e.message || e);
  document.body.dataset.state = 'error';
});
