// Preloaded into a peer gateway (node --import) so that a server which only takes a port binds
// 127.0.0.1 instead of every interface: Portkey's start-server.js calls @hono/node-server's
// serve({port}), which listens without a host. Nothing else is changed.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (port, host, ...rest) {
  if (typeof port === 'number' && (host === undefined || typeof host === 'function')) {
    return listen.call(this, port, '127.0.0.1', ...(host === undefined ? rest : [host, ...rest]));
  }
  return listen.call(this, port, host, ...rest);
};
