import test from 'ava';
import dnsPacket, { type Answer, type Packet } from 'dns-packet';
import { CLASSIC_UDP_SIZE, EDNS_UDP_SIZE, RCODE, decodeQuery, encodeResponse, errorResponse, responseTo, truncatedResponse, udpSizeLimit, withId } from './message.js';

const query = (extra: Partial<Packet> = {}) =>
  dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'web' }], ...extra });
const edns = (size: number): Partial<Packet> => ({
  additionals: [{ type: 'OPT', name: '.', udpPayloadSize: size, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
});
const manyAnswers = (n: number): Answer[] => Array.from({ length: n }, (_, i) => ({ type: 'A', name: 'lb', ttl: 60, class: 'IN', data: `10.0.${i >> 8}.${i & 255}` }));

test('decodeQuery refuses garbage, short packets and responses without throwing', (t) => {
  t.truthy(decodeQuery(query()));
  t.is(decodeQuery(Buffer.from('hello')), undefined);
  t.is(decodeQuery(Buffer.alloc(12, 0xff)), undefined);
  t.is(decodeQuery(Buffer.concat([query().subarray(0, 14)])), undefined);
  t.is(decodeQuery(dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'x' }] })), undefined);
  // A name compression pointer to itself: the decoder must refuse, not loop.
  const loop = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
  t.is(decodeQuery(loop), undefined);
});

test('the UDP size a client takes: 512 without EDNS, its EDNS size within [512, 1232]', (t) => {
  t.is(udpSizeLimit(decodeQuery(query())!), CLASSIC_UDP_SIZE);
  t.is(udpSizeLimit(decodeQuery(query(edns(1000)))!), 1000);
  t.is(udpSizeLimit(decodeQuery(query(edns(4096)))!), EDNS_UDP_SIZE);
  t.is(udpSizeLimit(decodeQuery(query(edns(100)))!), CLASSIC_UDP_SIZE);
});

test('a response echoes id, question and RD, sets RA (and AA when asked), and carries OPT only for EDNS queries', (t) => {
  const plain = dnsPacket.decode(encodeResponse(responseTo(decodeQuery(query())!, { rcode: RCODE.NXDOMAIN, authoritative: true }), 512));
  t.like(plain, { id: 4242, type: 'response', flag_rd: true, flag_ra: true, flag_aa: true, flag_tc: false, rcode: 'NXDOMAIN' });
  t.deepEqual(plain.questions, [{ name: 'web', type: 'A', class: 'IN' }]);
  t.is(plain.additionals?.length, 0);
  const withOpt = dnsPacket.decode(errorResponse(decodeQuery(query(edns(1232)))!, RCODE.SERVFAIL, 1232));
  t.like(withOpt, { rcode: 'SERVFAIL', flag_aa: false });
  t.like(withOpt.additionals?.[0], { type: 'OPT', udpPayloadSize: EDNS_UDP_SIZE });
});

test('a response too large for the transport is truncated: TC set and answers dropped until it fits', (t) => {
  const q = decodeQuery(query())!;
  const full = responseTo(q, { rcode: RCODE.NOERROR, answers: manyAnswers(60) });
  const udp = encodeResponse(full, 512);
  t.true(udp.length <= 512);
  const decoded = dnsPacket.decode(udp);
  t.true(decoded.flag_tc);
  t.true((decoded.answers?.length ?? 0) > 0 && (decoded.answers?.length ?? 0) < 60);
  const tcp = dnsPacket.decode(encodeResponse(full, 65535));
  t.false(tcp.flag_tc);
  t.is(tcp.answers?.length, 60);
  const small = dnsPacket.decode(encodeResponse(responseTo(q, { rcode: RCODE.NOERROR, answers: manyAnswers(3) }), 512));
  t.false(small.flag_tc);
});

test('truncatedResponse is empty with TC; withId swaps the id and nothing else', (t) => {
  const tc = dnsPacket.decode(truncatedResponse(decodeQuery(query())!));
  t.like(tc, { id: 4242, flag_tc: true, rcode: 'NOERROR' });
  t.is(tc.answers?.length, 0);
  const original = query();
  const swapped = withId(original, 7);
  t.is(swapped.readUInt16BE(0), 7);
  t.deepEqual(swapped.subarray(2), original.subarray(2));
  t.is(original.readUInt16BE(0), 4242);
});
