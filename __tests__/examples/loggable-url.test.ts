// examples/observability.ts: the URL a log line carries never holds a token sent in the query.
import type { IncomingMessage } from 'node:http';
import { decisionLine, loggableUrl } from '../../examples/observability';

const at = (url: string, originalUrl?: string) => ({ url, originalUrl, method: 'GET', headers: {} }) as unknown as IncomingMessage;

describe('loggableUrl', () => {
  it.each([
    ['/whoami?access_token=ci_secret_value_1234', '/whoami?access_token=[redacted]'],
    ['/whoami?x=1&access_token=ci_secret_value_1234&y=2', '/whoami?x=1&access_token=[redacted]&y=2'],
    ['/whoami?access%5Ftoken=ci_secret_value_1234', '/whoami?access%5Ftoken=[redacted]'],
    ['/whoami?%61ccess_token=ci_secret_value_1234', '/whoami?%61ccess_token=[redacted]'],
    ['/whoami?access_token[]=ci_secret_value_1234', '/whoami?access_token[]=[redacted]'],
    ['/whoami?access_token%5B0%5D=ci_secret_value_1234', '/whoami?access_token%5B0%5D=[redacted]'],
    ['/whoami?access_token=a&access_token=ci_secret_value_1234', '/whoami?access_token=[redacted]&access_token=[redacted]'],
    // qs (Express 4, Express 5's "extended" parser) files nested brackets under access_token too,
    // and the bearer check refuses them as query tokens: the log must not keep them.
    ['/whoami?access_token[a][b]=ci_secret_value_1234', '/whoami?access_token[a][b]=[redacted]'],
    ['/whoami?access_token%5Ba%5D%5B%5D=ci_secret_value_1234', '/whoami?access_token%5Ba%5D%5B%5D=[redacted]'],
    ['/whoami?access_token[a]b=ci_secret_value_1234', '/whoami?access_token[a]b=[redacted]'],
  ])('redacts %s', (url, expected) => {
    expect(loggableUrl(at(url))).toBe(expected);
  });

  it('keeps a URL without a token as it is, the path Express saw included', () => {
    expect(loggableUrl(at('/whoami?q=%ZZ&page=2', '/api/whoami?q=%ZZ&page=2'))).toBe('/api/whoami?q=%ZZ&page=2');
    expect(loggableUrl(at('/whoami'))).toBe('/whoami');
  });

  it('is what decisionLine prints', () => {
    const line = decisionLine({ outcome: 'invalid_request', status: 400, attempts: [], cached: false }, at('/whoami?access_token=ci_secret_value_1234'));
    expect(line).toBe('[auth] invalid_request 400 GET /whoami?access_token=[redacted]');
  });
});
