import http from 'node:http';
import type { AddressInfo } from 'node:net';
const SRC = process.argv[2];
if (SRC === undefined) throw new Error('pass the module to test as the first argument');
const seen: Record<string, (string | null)[]> = { api: [], other: [] };
const serve = (name: string) =>
  new Promise<http.Server>((done) => {
    const server = http.createServer((req, res) => {
      seen[name]?.push(req.headers.authorization ?? null);
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
    server.listen(0, '127.0.0.1', () => done(server));
  });
const api = await serve('api');
const other = await serve('other');
const port = (s: http.Server) => (s.address() as AddressInfo).port;
// A minimal jsdom-like setup (window and document, no global location), made before axios is imported.
(globalThis as Record<string, unknown>).window = { location: { href: `http://127.0.0.1:${port(api)}/app/` } };
(globalThis as Record<string, unknown>).document = {};
const { default: axios } = await import('axios');
const { attachRefresh } = await import(SRC);
const instance = axios.create();
attachRefresh(instance, {
  tokens: { accessToken: 'secret-access', refreshToken: 'secret-refresh' },
  refresh: async () => ({ accessToken: 'secret-access-2' }),
});
for (const url of ['/ok', `/\\127.0.0.1:${port(other)}/x`, `/\t/127.0.0.1:${port(other)}/y`]) {
  await instance.get(url).catch(() => undefined);
}
console.log(JSON.stringify(seen));
api.close();
other.close();
