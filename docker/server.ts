// The plugin's HTTP endpoint on a unix socket: dockerd POSTs "/<Interface>.<Method>" with a JSON
// body and reads a JSON reply. node:http is all it takes.
import { existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { type Handler, dispatch } from './driver.js';
import { PluginError, badRequest, errorReply } from './errors.js';
import { CONTENT_TYPE } from './protocol.js';

const MAX_BODY = 1 << 20;

/** Removes a socket file nobody listens on (a killed plugin's); refuses to take over a live one. */
async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket; remove it or choose another plugin name`);
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another process already serves ${path}; stop it or choose another plugin name`);
  unlinkSync(path);
}

export interface ServeOptions {
  socketPath: string;
  driver: Record<string, Handler>;
  log(message: string): void;
}

function readBody(req: import('node:http').IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(badRequest(`request body larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function serve(o: ServeOptions): Promise<Server> {
  mkdirSync(dirname(o.socketPath), { recursive: true, mode: 0o755 });
  await clearStaleSocket(o.socketPath);
  const server = createServer((req, res) => {
    const method = (req.url ?? '/').replace(/^\/+/, '').split('?')[0] ?? '';
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    void (async () => {
      try {
        const text = await readBody(req);
        let body: unknown = {};
        if (text.trim() !== '') {
          try {
            body = JSON.parse(text);
          } catch {
            throw badRequest(`${method}: the request body is not JSON`);
          }
        }
        const out = await dispatch(o.driver, method, body);
        if (process.env.CTNET_DEBUG) o.log(`${method} ${text.trim() || '{}'} -> ${JSON.stringify(out ?? {})}`);
        reply(200, out ?? {});
      } catch (err) {
        const { status, body } = errorReply(err);
        o.log(`${method}: ${body.Err}`);
        if (process.env.CTNET_DEBUG && !(err instanceof PluginError) && err instanceof Error && err.stack) o.log(err.stack);
        reply(status, body);
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
