// A process that writes to a token file in a loop until it is killed: the torn-write test kills it at random moments.
// It imports only the file store (no axios), so that a thousand of them start quickly.
import type * as FileEntry from '../../../src/file.js';

const { createFileTokenStore } = (await import('axios-token-refresh/file' as string)) as typeof FileEntry;
const path = process.argv[2];
if (!path) throw new Error('file-writer: pass the token file as the first argument');
const store = createFileTokenStore({ path });
const extra = { padding: 'x'.repeat(32_768) };
let announced = false;
for (;;) {
  const { version } = await store.read();
  const written = await store.write(
    { accessToken: `access-${version + 1}`, refreshToken: `refresh-${version + 1}`, extra },
    version,
  );
  // Announced after its first write that took (another writer may win a round): every kill then follows a real write.
  if (written !== null && !announced) {
    announced = true;
    process.send?.({ type: 'writing' });
  }
}
