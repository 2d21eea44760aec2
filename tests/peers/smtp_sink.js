// An SMTP server from the npm `smtp-server` package (not written by Openline), as the far side
// of Openline's outgoing mail. Usage: node smtp_sink.js <port> <outdir> [--count-only]
// Recipients whose local part starts with "defer" get 451, with "reject" get 550.
// Writes every message to <outdir>/<n>.eml plus <n>.json (envelope); prints "READY <port>".
"use strict";
const fs = require("fs");
const path = require("path");
const { SMTPServer } = require("smtp-server");

const port = parseInt(process.argv[2], 10);
const outdir = process.argv[3];
const countOnly = process.argv.includes("--count-only");
let n = 0;
let recipients = 0;

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["AUTH"],
  size: 30 * 1024 * 1024,
  logger: false,
  onRcptTo(address, session, callback) {
    const local = address.address.split("@")[0];
    if (local.startsWith("defer")) {
      const err = new Error("4.2.0 try again later");
      err.responseCode = 451;
      return callback(err);
    }
    if (local.startsWith("reject")) {
      const err = new Error("5.1.1 no such user");
      err.responseCode = 550;
      return callback(err);
    }
    callback();
  },
  onData(stream, session, callback) {
    const chunks = [];
    stream.on("data", (c) => { if (!countOnly) chunks.push(c); });
    stream.on("end", () => {
      n += 1;
      recipients += session.envelope.rcptTo.length;
      if (countOnly) {
        if (n % 100 === 0) fs.writeFileSync(path.join(outdir, "count"), String(recipients));
        return callback(null, "2.0.0 queued as " + n);
      }
      fs.writeFileSync(path.join(outdir, n + ".eml"), Buffer.concat(chunks));
      fs.writeFileSync(path.join(outdir, n + ".json"), JSON.stringify({
        from: session.envelope.mailFrom.address,
        to: session.envelope.rcptTo.map((r) => r.address),
        secure: session.secure,
        transaction: session.transaction,
      }));
      callback(null, "2.0.0 queued as " + n);
    });
  },
});
setInterval(() => { if (countOnly) fs.writeFileSync(path.join(outdir, "count"), String(recipients)); }, 200);
server.listen(port, "127.0.0.1", () => { console.log("READY " + port); });
