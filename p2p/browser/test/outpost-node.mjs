// Starting outpost-node from a Node.js test on 127.0.0.1 (node builtins only, so any test folder
// can import it): the p2p browser test and the dApp's e2e both use it.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Every node started here, so a test can kill them all at the end. */
export const children = [];

/** Starts `bin` with `args` and resolves with `{ child, peerId }` once it logs "node started". */
export function startNode(bin, name, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1' } });
    children.push(child);
    let out = '';
    const onData = (d) => {
      out += d.toString();
      const m = out.match(/node started peer_id=(\w+)/);
      if (m) resolve({ child, peerId: m[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${name} exited (${code}):\n${out}`)));
    setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 20000);
  });
}
