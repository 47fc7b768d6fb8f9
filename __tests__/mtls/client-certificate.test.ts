// Where a request's client certificate comes from (RFC 8705 §2, RFC 9440), over a real TLS
// server with certificates made by openssl: the TLS connection's own, or a trusted proxy's
// Client-Cert header, and which requests claim a certificate they may not have.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MultiAuthConfigError, MultiAuthError } from '../../lib/core/errors';
import { certificateThumbprint, presentedCertificate } from '../../lib/mtls/certificate';
import { resolveMtlsOptions, type MtlsOptions } from '../../lib/mtls/options';
import { makeCertificate, startTlsServer, tlsRequest, type TestCertificate, type TlsServer } from '../support/tls';

/** A TLS server answering with what presentedCertificate() made of the request. */
async function certificateServer(options: MtlsOptions, host?: string): Promise<TlsServer> {
  const resolved = resolveMtlsOptions(options, ['primary'])!;
  return startTlsServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('content-type', 'application/json');
    try {
      res.end(JSON.stringify({ certificate: presentedCertificate(req, resolved) ?? null }));
    } catch (error) {
      res.statusCode = error instanceof MultiAuthError ? error.status : 500;
      res.end(JSON.stringify({ error: (error as Error).message }));
    }
  }, host);
}

const alice: TestCertificate = makeCertificate('alice');
const mallory: TestCertificate = makeCertificate('mallory');

describe('the certificate of the TLS connection', () => {
  let server: TlsServer;
  beforeAll(async () => {
    server = await certificateServer({});
  });
  afterAll(() => server.close());

  it('is the one the client presented, with the SHA-256 thumbprint openssl computes', async () => {
    const res = await tlsRequest(`${server.origin}/`, { client: alice });
    expect(res.json()).toEqual({ certificate: { x5tS256: alice.x5tS256, from: 'tls' } });
  });

  it('counts although the server could not verify it (self-signed, RFC 8705 §2.2)', async () => {
    const res = await tlsRequest(`${server.origin}/`, { client: mallory });
    expect(res.json()).toEqual({ certificate: { x5tS256: mallory.x5tS256, from: 'tls' } });
  });

  it('is absent when the client presents none', async () => {
    const res = await tlsRequest(`${server.origin}/`);
    expect(res.json()).toEqual({ certificate: null });
  });

  it('is the thumbprint RFC 8705 §3.1 defines: base64url of the SHA-256 of the DER', () => {
    expect(certificateThumbprint(alice.der)).toBe(alice.x5tS256);
    expect(alice.x5tS256).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('a Client-Cert header (RFC 9440)', () => {
  let trusting: TlsServer;
  let distrusting: TlsServer;
  beforeAll(async () => {
    trusting = await certificateServer({ trustedProxies: ['10.1.2.3', '127.0.0.0/8'] });
    distrusting = await certificateServer({ trustedProxies: ['10.0.0.0/8', 'fd00::/8'] });
  });
  afterAll(async () => {
    await trusting.close();
    await distrusting.close();
  });

  it('from a trusted proxy is the client certificate', async () => {
    const res = await tlsRequest(`${trusting.origin}/`, { headers: { 'client-cert': alice.header } });
    expect(res.json()).toEqual({ certificate: { x5tS256: alice.x5tS256, from: 'header' } });
  });

  it('without base64 padding is read the same (RFC 8941 §4.2.7)', async () => {
    const unpadded = alice.header.replace(/=+:$/, ':');
    const res = await tlsRequest(`${trusting.origin}/`, { headers: { 'client-cert': unpadded } });
    expect(res.json()).toEqual({ certificate: { x5tS256: alice.x5tS256, from: 'header' } });
  });

  it('next to the same certificate on the proxy connection is that certificate', async () => {
    const res = await tlsRequest(`${trusting.origin}/`, { client: alice, headers: { 'client-cert': alice.header } });
    expect(res.json()).toEqual({ certificate: { x5tS256: alice.x5tS256, from: 'header' } });
  });

  it('from a peer that is not a trusted proxy is refused with 400', async () => {
    const res = await tlsRequest(`${distrusting.origin}/`, { headers: { 'client-cert': alice.header } });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ error: 'The Client-Cert header is accepted from trusted proxies only' });
  });

  it('is refused with 400 when no proxy is trusted at all', async () => {
    const none = await certificateServer({});
    try {
      const res = await tlsRequest(`${none.origin}/`, { client: alice, headers: { 'client-cert': alice.header } });
      expect(res.status).toBe(400);
    } finally {
      await none.close();
    }
  });

  it('under another configured name is the one read, and Client-Cert is then ignored', async () => {
    const named = await certificateServer({ trustedProxies: ['127.0.0.1'], header: 'X-SSL-Client-Cert' });
    try {
      const res = await tlsRequest(`${named.origin}/`, { headers: { 'x-ssl-client-cert': alice.header, 'client-cert': mallory.header } });
      expect(res.json()).toEqual({ certificate: { x5tS256: alice.x5tS256, from: 'header' } });
    } finally {
      await named.close();
    }
  });

  it('from a trusted IPv6 proxy is the client certificate', async () => {
    const v6 = await certificateServer({ trustedProxies: ['::1/128'] }, '::1');
    try {
      const res = await tlsRequest(`${v6.origin}/`, { headers: { 'client-cert': alice.header } });
      expect(res.json()).toEqual({ certificate: { x5tS256: alice.x5tS256, from: 'header' } });
    } finally {
      await v6.close();
    }
  });

  it('from an IPv6 peer outside the trusted ranges is refused with 400', async () => {
    const v6 = await certificateServer({ trustedProxies: ['127.0.0.1', 'fd00::/8'] }, '::1');
    try {
      const res = await tlsRequest(`${v6.origin}/`, { headers: { 'client-cert': alice.header } });
      expect(res.status).toBe(400);
    } finally {
      await v6.close();
    }
  });
});

describe('the peer address a Client-Cert header is judged by', () => {
  // A dual-stack server (listening on "::") sees IPv4 peers as IPv4-mapped IPv6 addresses; tests
  // listen on loopback only, so the peer is written by hand here.
  const fromPeer = (remoteAddress: string | undefined) =>
    ({ headers: { 'client-cert': alice.header }, rawHeaders: ['Client-Cert', alice.header], socket: { remoteAddress } }) as unknown as IncomingMessage;
  const options = resolveMtlsOptions({ trustedProxies: ['10.0.0.0/8'] }, ['primary'])!;

  it('is an IPv4-mapped IPv6 address matched against IPv4 ranges', () => {
    expect(presentedCertificate(fromPeer('::ffff:10.1.2.3'), options)).toEqual({ x5tS256: alice.x5tS256, from: 'header' });
  });

  it('outside the ranges, mapped or not, gets 400', () => {
    expect(() => presentedCertificate(fromPeer('::ffff:192.168.1.1'), options)).toThrow('accepted from trusted proxies only');
    expect(() => presentedCertificate(fromPeer('192.168.1.1'), options)).toThrow('accepted from trusted proxies only');
  });

  it('unknown (a destroyed socket) is no trusted proxy', () => {
    expect(() => presentedCertificate(fromPeer(undefined), options)).toThrow('accepted from trusted proxies only');
  });
});

describe('a Client-Cert header that cannot be a single certificate', () => {
  let server: TlsServer;
  beforeAll(async () => {
    server = await certificateServer({ trustedProxies: ['127.0.0.1'] });
  });
  afterAll(() => server.close());

  it.each<[string, string]>([
    ['PEM instead of a byte sequence', alice.cert.replace(/\n/g, ' ').trim()],
    ['base64 without the colons', alice.der.toString('base64')],
    ['base64url', `:${alice.der.toString('base64url')}:`],
    ['an empty byte sequence', '::'],
    ['bytes that are not a certificate', `:${Buffer.from('not a certificate at all').toString('base64')}:`],
    ['a certificate followed by more bytes', `:${Buffer.concat([alice.der, Buffer.from([0, 1, 2, 3])]).toString('base64')}:`],
    ['two certificates in one value', `${alice.header}, ${mallory.header}`],
    ['a byte sequence with parameters', `${alice.header};chain=1`],
    ['a truncated certificate', `:${alice.der.subarray(0, alice.der.length - 10).toString('base64')}:`],
    ['a long run of zero bytes', `:${'A'.repeat(15_000)}:`],
  ])('is refused with 400: %s', async (_what, value) => {
    const res = await tlsRequest(`${server.origin}/`, { headers: { 'client-cert': value } });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ error: 'The Client-Cert header is not an RFC 9440 certificate (":" base64 DER ":")' });
  });

  it('is refused with 400 when the field appears twice', async () => {
    const res = await tlsRequest(`${server.origin}/`, { headers: { 'client-cert': [alice.header, alice.header] } });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ error: 'The request has 2 Client-Cert headers; send one' });
  });

  it('naming another certificate than the TLS connection\'s is refused with 400', async () => {
    const res = await tlsRequest(`${server.origin}/`, { client: mallory, headers: { 'client-cert': alice.header } });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ error: 'The Client-Cert header names another certificate than the connection\'s own' });
  });

  it('never has its value echoed in the refusal', async () => {
    const res = await tlsRequest(`${server.origin}/`, { headers: { 'client-cert': `:${Buffer.from('<script>').toString('base64')}:` } });
    expect(res.body).not.toContain(Buffer.from('<script>').toString('base64'));
  });
});

describe('the mtls option', () => {
  const names = ['primary', 'partners'];

  it('takes true for the defaults: nothing required, no proxy trusted, the header Client-Cert', () => {
    expect(resolveMtlsOptions(true, names)).toEqual({ required: new Set(), proxies: undefined, header: 'client-cert' });
  });

  it('is off when absent or false', () => {
    expect(resolveMtlsOptions(undefined, names)).toBeUndefined();
    expect(resolveMtlsOptions(false, names)).toBeUndefined();
  });

  it('takes required as true or as source names', () => {
    expect(resolveMtlsOptions({ required: true }, names)?.required).toBe(true);
    expect(resolveMtlsOptions({ required: ['partners'] }, names)?.required).toEqual(new Set(['partners']));
  });

  it.each<[string, unknown, RegExp]>([
    ['a required name that is no source', { required: ['partner'] }, /required names "partner", which is not a source; sources: primary, partners/],
    ['a required that is neither boolean nor names', { required: 'partners' }, /required must be true, false or a list of source names/],
    ['a misspelt option', { trustedProxy: ['10.0.0.1'] }, /unknown option "mtls.trustedProxy"; did you mean "mtls.trustedProxies"\?/],
    ['trustedProxies that is not a list', { trustedProxies: '10.0.0.1' }, /trustedProxies must be a list/],
    ['a proxy that is not an address', { trustedProxies: ['proxy.internal'] }, /trustedProxies\[0\]: "proxy.internal" is not an IP address or CIDR range/],
    ['a prefix longer than the address', { trustedProxies: ['10.0.0.0/33'] }, /prefix length outside 0-32/],
    ['an IPv6 prefix longer than the address', { trustedProxies: ['fd00::/129'] }, /prefix length outside 0-128/],
    ['a range that trusts everyone', { trustedProxies: ['0.0.0.0/0'] }, /trusts every address/],
    ['an address with spaces around it', { trustedProxies: [' 10.0.0.1'] }, /trustedProxies\[0\] must be an IP address/],
    ['a header name that is not a field name', { header: 'Client Cert' }, /header must be an HTTP field name/],
    ['a header HTTP already uses', { header: 'Authorization' }, /already means something else/],
    ['a list', ['required'], /mtls must be true or an object/],
    ['a string', 'on', /mtls must be true or an object/],
  ])('refuses %s at construction, saying what to fix', (_what, options, message) => {
    expect(() => resolveMtlsOptions(options, names)).toThrow(MultiAuthConfigError);
    expect(() => resolveMtlsOptions(options, names)).toThrow(message);
  });
});
