// Loaded into the daqd child by bench/latency.bench.ts (NODE_OPTIONS=--import): notes when each
// instrument.set request reaches daqd's socket and when daqd hands the `W<nnnn>` line to
// serialport, so the bench can split its latency into client -> daqd, daqd itself, and
// serialport/pty -> device. Both clocks are performance.timeOrigin + performance.now(), comparable
// across processes on one machine. Costs one string test per socket chunk and per serial write.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { SerialPort } from 'serialport';

const out = process.env.DAQD_BENCH_MARKS;
const now = () => performance.timeOrigin + performance.now();
const requests = [];
const writes = [];

const emit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (event, chunk, ...rest) {
  if (event === 'data' && typeof chunk === 'string' && chunk.includes('"instrument.set"')) requests.push(now());
  return emit.call(this, event, chunk, ...rest);
};

const write = SerialPort.prototype.write;
SerialPort.prototype.write = function (data, ...rest) {
  if (Buffer.isBuffer(data) && data[0] === 0x57 /* W */ && data[1] !== 0x3f /* ? */) writes.push(now());
  return write.call(this, data, ...rest);
};

process.on('exit', () => {
  if (out) writeFileSync(out, JSON.stringify({ requests, writes }));
});
