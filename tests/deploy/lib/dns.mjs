// A tiny DNS server on loopback, standing in for Docker's embedded DNS (127.0.0.11) so
// that the HAProxy configuration of compose.yaml can be run for real: it answers A queries
// for the names it is given with the addresses it is given (changeable while it runs, as
// replicas come and go) and NXDOMAIN for everything else. Enough of RFC 1035 for that.
import dgram from "node:dgram";

export async function startDns(records) {
  const socket = dgram.createSocket("udp4");
  const state = { records: new Map(Object.entries(records)), queries: 0 };
  socket.on("message", (msg, rinfo) => {
    if (msg.length < 12) return;
    state.queries++;
    // Question: labels up to a zero byte, then type and class.
    let i = 12;
    const labels = [];
    while (i < msg.length && msg[i] !== 0) {
      const len = msg[i];
      labels.push(msg.subarray(i + 1, i + 1 + len).toString("latin1"));
      i += len + 1;
    }
    const qEnd = i + 5; // zero byte, type (2), class (2)
    if (qEnd > msg.length) return;
    const qtype = msg.readUInt16BE(i + 1);
    const name = labels.join(".").toLowerCase().replace(/\.$/, "");
    const addresses = state.records.get(name);
    const answers = addresses && qtype === 1 ? addresses : [];
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    const rd = msg[2] & 0x01;
    header[2] = 0x84 | rd; // QR, AA, RD as asked
    header[3] = 0x80 | (addresses ? 0 : 3); // RA; NXDOMAIN for unknown names
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const parts = [header, msg.subarray(12, qEnd)];
    for (const a of answers) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // the name of the question
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(1, 6); // TTL 1 s
      rr.writeUInt16BE(4, 10);
      a.split(".").forEach((b, k) => (rr[12 + k] = Number(b)));
      parts.push(rr);
    }
    socket.send(Buffer.concat(parts), rinfo.port, rinfo.address);
  });
  await new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", resolve);
  });
  return {
    port: socket.address().port,
    set(name, addresses) {
      state.records.set(name, addresses);
    },
    get queries() {
      return state.queries;
    },
    close: () => new Promise((resolve) => socket.close(resolve)),
  };
}
