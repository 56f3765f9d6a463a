// The tablet's write queue on disk: IndexedDB, which survives closing the browser and is
// shared by the tabs (and the service worker) of this origin. One object store, "writes",
// one record per write keyed by its Idempotency-Key.

const DB = "sonae-tablet";
const VERSION = 1;
const WRITES = "writes";

let opened = null;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function open() {
  if (!opened) {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = () => req.result.createObjectStore(WRITES, { keyPath: "key" });
    opened = request(req).then((db) => {
      // Another tab upgrading the database closes ours; the next call opens it again.
      db.onversionchange = () => { db.close(); opened = null; };
      return db;
    });
  }
  return opened;
}

async function store(mode) {
  const db = await open();
  return db.transaction(WRITES, mode).objectStore(WRITES);
}

/** Every write, oldest first (the order they were queued, which is the order they go). */
export async function all() {
  const rows = await request((await store("readonly")).getAll());
  return rows.sort((a, b) => a.seq - b.seq || (a.queuedAt < b.queuedAt ? -1 : 1));
}

export async function get(key) {
  return request((await store("readonly")).get(key));
}

/** Store a write. "strict" (the default here) waits until it is on disk, for what the
 * manager typed; "relaxed" for what can be learnt again (a write's fate: sent again, the
 * server replays its first answer). */
export async function put(entry, durability = "strict") {
  const db = await open();
  const tx = db.transaction(WRITES, "readwrite", { durability });
  tx.objectStore(WRITES).put(entry);
  // Resolved once the write is on disk, not merely accepted.
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve(entry);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export async function remove(key) {
  const db = await open();
  const tx = db.transaction(WRITES, "readwrite");
  tx.objectStore(WRITES).delete(key);
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}
