// `my-cli login` exactly as docs/file-store.md's recipe writes it, in its own process: a fresh file store, read the
// version, write the new login over it. Usage: tsx cli-login.mts <src/file.ts> <token path> <access> <refresh>
const [source, path, accessToken, refreshToken] = process.argv.slice(2);
const { createFileTokenStore } = (await import(source as string)) as typeof import('../../src/file.js');
const store = createFileTokenStore({ path: path as string });
let version = 0;
try {
  ({ version } = await store.read());
} catch {
  // A corrupt file: the write below replaces it.
}
const written = await store.write(
  { accessToken: accessToken as string, refreshToken: refreshToken as string, expiresAt: Date.now() + 3_600_000 },
  version,
);
await store.close();
console.log(JSON.stringify(written === null ? null : written.version));
