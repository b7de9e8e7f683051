// `my-cli logout` in its own process: a fresh file store and session, `logout()`. Prints the version it wrote.
// Usage: tsx cli-logout.mts <src/index.ts> <src/file.ts> <token path>
const [index, file, path] = process.argv.slice(2);
const { createTokenSession } = (await import(index as string)) as typeof import('../../src/index.js');
const { createFileTokenStore } = (await import(file as string)) as typeof import('../../src/file.js');
const store = createFileTokenStore({ path: path as string });
const session = createTokenSession({ store, refresh: async () => ({ accessToken: 'never' }) });
await session.logout({ revoke: false });
console.log(JSON.stringify((await store.read()).version));
await session.close();
await store.close();
