// The verdict logic of the browser check page (src/web/page/verdict.mjs): node --test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verdict, mapping, parseCandidate } from '../../src/web/page/verdict.mjs';

const checks = (results) => Object.entries(results).map(([name, result]) => ({ name, result }));

test('direct UDP wins over everything else', () => {
  const v = verdict(checks({ udp: 'works', tcp: 'works', 'turn-udp': 'works', 'turn-tcp': 'works' }), true);
  assert.equal(v.id, 'direct-udp');
  assert.match(v.headline, /direct UDP works/i);
  assert.deepEqual(v.notes, []);
});

test('UDP blocked, TURN TCP works: relay over TCP/TLS, and ICE-TCP is named as a note', () => {
  const v = verdict(checks({ udp: 'fails', tcp: 'works', 'turn-udp': 'fails', 'turn-tcp': 'works' }), true);
  assert.equal(v.id, 'turn-tcp');
  assert.match(v.headline, /works through TURN over TCP\/TLS/i);
  assert.equal(v.notes.length, 1);
});

test('TURN TLS alone also counts as TCP/TLS', () => {
  assert.equal(verdict(checks({ udp: 'fails', 'turn-tls': 'works' }), true).id, 'turn-tcp');
});

test('TURN over UDP beats TURN over TCP', () => {
  assert.equal(verdict(checks({ udp: 'fails', 'turn-udp': 'works', 'turn-tcp': 'works' }), true).id, 'turn-udp');
});

test('only ICE-TCP works', () => {
  assert.equal(verdict(checks({ udp: 'fails', tcp: 'works', 'turn-udp': 'fails' }), true).id, 'ice-tcp');
});

test('nothing works: cannot connect', () => {
  const v = verdict(checks({ udp: 'fails', tcp: 'fails', 'turn-udp': 'fails', 'turn-tcp': 'fails' }), true);
  assert.equal(v.id, 'cannot-connect');
  assert.match(v.headline, /cannot connect/i);
});

test('skipped checks never count as working', () => {
  assert.equal(verdict(checks({ udp: 'skipped', tcp: 'skipped' }), false).id, 'cannot-connect');
});

test('without TURN the verdict says only UDP and ICE-TCP were tested', () => {
  const v = verdict(checks({ udp: 'works', tcp: 'works' }), false);
  assert.equal(v.id, 'direct-udp');
  assert.match(v.notes.join(' '), /no TURN relay configured/);
});

const S1 = '203.0.113.10:3478';
const S2 = '203.0.113.10:3479';
const S3 = '203.0.113.11:3479';
test('mapping: one srflx from a socket both STUN addresses answered is endpoint-independent', () => {
  assert.equal(mapping([{ server: S1, address: '198.51.100.1', port: 4000 }], [S1, S2]), 'endpoint-independent');
});

test('mapping: one srflx but the second address never answered alone is unknown', () => {
  assert.equal(mapping([{ server: S1, address: '198.51.100.1', port: 4000 }], [S1]), 'unknown');
});

test('mapping: different ports from two IPs cannot tell address- from address-and-port-dependent', () => {
  assert.equal(mapping([{ server: S1, address: '198.51.100.1', port: 4000 },
    { server: S3, address: '198.51.100.1', port: 4001 }], [S1, S3]), 'address-dependent or address-and-port-dependent');
});

test('mapping: two ports of one IP that saw different mappings is address-and-port-dependent', () => {
  assert.equal(mapping([{ server: S1, address: '198.51.100.1', port: 4000 },
    { server: S2, address: '198.51.100.1', port: 4001 }], [S1, S2]), 'address-and-port-dependent');
});

test('mapping: no srflx at all is unknown', () => {
  assert.equal(mapping([], []), 'unknown');
  assert.equal(mapping([], [S1, S2]), 'unknown');
});

test('parseCandidate reads UDP, TCP passive and rejects junk', () => {
  assert.deepEqual(parseCandidate('candidate:1 1 UDP 2013266431 203.0.113.10 50000 typ host'),
    { type: 'host', transport: 'udp', address: '203.0.113.10', port: 50000 });
  assert.deepEqual(parseCandidate('a=candidate:2 1 TCP 1015022079 203.0.113.10 9 typ host tcptype passive'),
    { type: 'host', transport: 'tcp-passive', address: '203.0.113.10', port: 9 });
  assert.equal(parseCandidate('candidate:garbage'), null);
  assert.equal(parseCandidate('hello world 1 2 3 4 5 6'), null);
});
