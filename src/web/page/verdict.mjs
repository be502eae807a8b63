// The verdict of the browser check, in plain words, from the measured results. Pure: the page
// imports it, and tests/web/verdict.test.mjs runs it in node. A verdict states only what was
// measured: a check that was not run is "skipped" and never counts as working.

/** The verdicts, best first: id, headline (what the tests read), and the words for the user. */
export const VERDICTS = {
  'direct-udp': {
    headline: 'Direct UDP works',
    text: 'Your network is fine for calls: your browser reaches the media server directly over UDP.',
  },
  'turn-udp': {
    headline: 'Works through TURN over UDP',
    text: 'Your network does not let your browser reach the media server directly, but calls will work through the relay (TURN over UDP).',
  },
  'turn-tcp': {
    headline: 'Works through TURN over TCP/TLS',
    text: 'Your network blocks UDP; calls will work through the relay over TCP/TLS, with a little more delay.',
  },
  'ice-tcp': {
    headline: 'Works over ICE-TCP only',
    text: 'Your network blocks UDP; calls work only with media servers that accept TCP (ICE-TCP), with a little more delay.',
  },
  'cannot-connect': {
    headline: 'Cannot connect',
    text: 'Your browser could not reach the media server in any way we tried. Calls will not work from this network: please send this result to your admin.',
  },
};

const works = (checks, name) => checks.some((c) => c.name === name && c.result === 'works');

/**
 * The verdict from the checks ([{name: 'udp'|'tcp'|'turn-udp'|'turn-tcp'|'turn-tls', result}]).
 * @returns {{id: string, headline: string, text: string, notes: string[]}}
 */
export function verdict(checks, turnConfigured) {
  let id = 'cannot-connect';
  if (works(checks, 'udp')) id = 'direct-udp';
  else if (works(checks, 'turn-udp')) id = 'turn-udp';
  else if (works(checks, 'turn-tcp') || works(checks, 'turn-tls')) id = 'turn-tcp';
  else if (works(checks, 'tcp')) id = 'ice-tcp';
  const notes = [];
  if (!turnConfigured) {
    notes.push('This server has no TURN relay configured: only direct UDP and ICE-TCP were tested.');
  }
  if (id === 'turn-tcp' && works(checks, 'tcp')) {
    notes.push('Direct TCP to the media server (ICE-TCP) works too.');
  }
  return { id, ...VERDICTS[id], notes };
}

/**
 * The NAT mapping as a browser can see it (RFC 4787 names). SHARED: the server-reflexive
 * candidates [{server: 'ip:port', address, port}] of ONE peer connection that asked both STUN
 * addresses from the same local socket; ANSWERED: the STUN addresses that gave a srflx when asked
 * alone. Browsers drop a srflx equal to one they already have, so one srflx while both addresses
 * answer means both saw the same mapping.
 */
export function mapping(shared, answered) {
  const distinct = new Map();
  for (const c of shared) distinct.set(`${c.address} ${c.port}`, c);
  const servers = [...new Set(answered)];
  if (distinct.size >= 2) {
    const [a, b] = [...distinct.values()];
    const ip = (s) => s.replace(/:\d+$/, '');
    // Two STUN ports of one IP saw different mappings: the mapping depends on the port.
    if (ip(a.server) === ip(b.server)) return 'address-and-port-dependent';
    return 'address-dependent or address-and-port-dependent';
  }
  if (distinct.size === 1 && servers.length >= 2) return 'endpoint-independent';
  return 'unknown';
}

/** Parses an ICE "candidate:..." line into {type, transport, address, port}; null if malformed. */
export function parseCandidate(line) {
  const f = line.replace(/^a=/, '').split(' ');
  if (f.length < 8 || !f[0].startsWith('candidate:')) return null;
  const typ = f.indexOf('typ');
  if (typ < 0 || typ + 1 >= f.length) return null;
  const proto = f[2].toLowerCase();
  let transport = proto;
  const tcp = f.indexOf('tcptype');
  if (proto === 'tcp' && tcp > 0 && tcp + 1 < f.length) transport = `tcp-${f[tcp + 1]}`;
  return { type: f[typ + 1], transport, address: f[4], port: Number(f[5]) };
}
