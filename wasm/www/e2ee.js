// Page side of framecrypt's transform worker: starts worker.js, sends it
// key operations, and attaches it to RTCRtpSenders and RTCRtpReceivers.
//
//   const e2ee = await E2ee.start();
//   await e2ee.call('sender', {name: 'me', key});        // keys stay in the worker
//   e2ee.protect(pc.addTrack(track, stream), {sender: 'me'});
//
// On browsers with RTCRtpScriptTransform the worker is attached as one;
// otherwise the createEncodedStreams() streams are transferred to it (the
// peer connection then needs {encodedInsertableStreams: true}).

export class E2ee {
  constructor(worker) {
    this.worker = worker;
    this.pending = new Map();
    this.nextId = 1;
    this.stats = null;
    this.onstats = null;
    this.logs = [];
    worker.onmessage = (event) => {
      const msg = event.data;
      if (msg.type === 'stats') {
        this.stats = msg.stats;
        this.onstats?.(msg.stats);
      } else if (msg.type === 'log') {
        this.logs.push(msg.text);
        console.log(`[worker] ${msg.text}`);
      } else if (this.pending.has(msg.id)) {
        const { resolve, reject, op } = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.ok) resolve(msg.result); else reject(new Error(`${op}: ${msg.error}`));
      }
    };
    worker.onerror = (e) => console.error(`[worker] ${e.message ?? e.type} ${e.filename ?? ""}:${e.lineno ?? ""}`);
  }

  /** Starts the worker and waits until its WebAssembly module is ready. */
  static async start(url = new URL('./worker.js', import.meta.url)) {
    const e2ee = new E2ee(new Worker(url, { type: 'module' }));
    await e2ee.call('ping');
    return e2ee;
  }

  /** Sends one operation to the worker; resolves with its result. */
  call(op, args = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, op });
      this.worker.postMessage({ id, op, args });
    });
  }

  /** Protects what `rtpSender` sends. */
  protect(rtpSender, options, { legacy = false } = {}) {
    this.#attach(rtpSender, { side: 'send', ...options }, legacy);
  }

  /** Restores what `rtpReceiver` receives; unauthentic frames are dropped. */
  unprotect(rtpReceiver, options, { legacy = false } = {}) {
    this.#attach(rtpReceiver, { side: 'receive', ...options }, legacy);
  }

  static get hasScriptTransform() {
    return typeof RTCRtpScriptTransform !== 'undefined';
  }

  #attach(target, options, legacy) {
    if (E2ee.hasScriptTransform && !legacy) {
      target.transform = new RTCRtpScriptTransform(this.worker, options);
    } else {
      const { readable, writable } = target.createEncodedStreams();
      this.worker.postMessage({ op: 'streams', readable, writable, options }, [readable, writable]);
    }
  }
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function unhex(s) {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}
