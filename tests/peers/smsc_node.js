#!/usr/bin/env node
// A real SMSC that Openline did not write: node-smpp (npm "smpp", pinned in package.json) as the
// server side, driven by the tests over stdio.
//
//   node tests/peers/smsc_node.js --port 0 --system-id X --password Y
//        [--auto-receipt DELIVRD] [--receipt-form text|tlv|both] [--message-ids decimal|hex]
//
// stdout: one JSON object per line. The first is {"event":"listening","port":N}; then bound,
// bind_failed, submit_sm, deliver_sm_resp, enquire_link, unbind, generic_nack, close, error.
// stdin: one JSON command per line, each may carry "ref" (echoed in its result):
//   {"cmd":"receipt","message_id":"...","stat":"DELIVRD","err":"000","form":"text"}
//   {"cmd":"mo","source":"...","destination":"...","text":"...","encoding":"GSM|UCS2",
//    "parts":["..",".."],"concat":"udh|sar","ref_num":66}        (parts: multipart MO)
//   {"cmd":"unbind"}  {"cmd":"enquire_link"}  {"cmd":"close"}  {"cmd":"quit"}
//
// short_message is reported as hex exactly as received: the message filter that node-smpp
// applies on decode is removed for submit_sm (and for message_payload), and the text is decoded
// here with node-smpp's own encoders, so the tests see both the octets and node-smpp's reading.
'use strict';

const readline = require('readline');
const smpp = require('smpp');

const args = {port: 0, systemId: 'openline', password: 'secret', autoReceipt: null,
              receiptForm: 'text', messageIds: 'decimal'};
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  if (!(key in args)) {
    process.stderr.write(`unknown option ${process.argv[i]}\n`);
    process.exit(2);
  }
  args[key] = key === 'port' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

delete smpp.commands.submit_sm.params.short_message.filter;
delete smpp.tlvs.message_payload.filter;

const ESM_UDHI = 0x40;
const ESM_RECEIPT = 0x04;
const STATES = {ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8};
const BINDS = {bind_transceiver: 'trx', bind_transmitter: 'tx', bind_receiver: 'rx'};

let nextId = 2000000;
const sessions = new Set();
const submits = new Map(); // message_id -> submit_sm fields (for receipts)

function emit(event) {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function hex(buffer) {
  return Buffer.isBuffer(buffer) ? buffer.toString('hex') : null;
}

function decodeText(dataCoding, esmClass, octets) {
  if (!Buffer.isBuffer(octets)) return null;
  let body = octets;
  if (esmClass & ESM_UDHI && body.length) body = body.slice(body[0] + 1);
  const encoding = {0: 'ASCII', 1: 'ASCII', 3: 'LATIN1', 8: 'UCS2'}[dataCoding & 0x0f];
  return encoding ? smpp.encodings[encoding].decode(body) : null;
}

function stamp(date) {
  const p = (n) => String(n).padStart(2, '0');
  return `${p(date.getUTCFullYear() % 100)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}` +
         `${p(date.getUTCHours())}${p(date.getUTCMinutes())}`;
}

function receiver() {
  // Receipts and MOs go to the newest receiver or transceiver bind (SMPP v3.4 §2.2).
  let chosen = null;
  for (const s of sessions) if (s.mode === 'rx' || s.mode === 'trx') chosen = s;
  return chosen;
}

function deliver(fields, ref) {
  const session = receiver();
  if (!session) {
    emit({event: 'error', ref, message: 'no receiver bound'});
    return;
  }
  session.deliver_sm(fields, (resp) => {
    emit({event: 'deliver_sm_resp', ref, sequence_number: resp.sequence_number,
          command_status: resp.command_status});
  });
}

function sendReceipt(messageId, stat, err, form, ref) {
  const submit = submits.get(messageId) || {};
  const now = new Date();
  const fields = {
    source_addr_ton: submit.dest_addr_ton || 1, source_addr_npi: submit.dest_addr_npi || 1,
    source_addr: submit.destination_addr || '',
    dest_addr_ton: submit.source_addr_ton || 1, dest_addr_npi: submit.source_addr_npi || 1,
    destination_addr: submit.source_addr || '',
    esm_class: ESM_RECEIPT, data_coding: 0,
  };
  if (form === 'text' || form === 'both') {
    const text = (submit.text || '').slice(0, 20);
    const dlvrd = stat === 'DELIVRD' ? '001' : '000';
    // SMPP v3.4 Appendix B; a Buffer bypasses node-smpp's message encoder.
    fields.short_message = Buffer.from(`id:${messageId} sub:001 dlvrd:${dlvrd} submit date:${stamp(now)} ` +
                                       `done date:${stamp(now)} stat:${stat} err:${err} Text:${text}`, 'ascii');
  }
  if (form === 'tlv' || form === 'both') {
    fields.receipted_message_id = messageId;
    fields.message_state = STATES[stat] || 7;
  }
  deliver(fields, ref);
}

function sendMo(cmd) {
  const dataCoding = cmd.encoding === 'UCS2' ? 0x08 : 0x00;
  const base = {
    source_addr_ton: 1, source_addr_npi: 1, source_addr: cmd.source,
    dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: cmd.destination,
    data_coding: dataCoding,
  };
  if (!cmd.parts) {
    deliver(Object.assign({}, base, {short_message: cmd.text}), cmd.ref);
    return;
  }
  const total = cmd.parts.length;
  const refNum = cmd.ref_num === undefined ? 0x42 : cmd.ref_num;
  cmd.parts.forEach((text, i) => {
    const fields = Object.assign({}, base);
    if (cmd.concat === 'sar') {
      fields.short_message = text;
      fields.sar_msg_ref_num = refNum;
      fields.sar_total_segments = total;
      fields.sar_segment_seqnum = i + 1;
    } else {
      // 3GPP TS 23.040 §9.2.3.24.1: IEI 0x00, 8-bit reference; node-smpp sets UDHI itself.
      fields.esm_class = 0;
      fields.short_message = {udh: Buffer.from([0x05, 0x00, 0x03, refNum & 0xff, total, i + 1]), message: text};
    }
    deliver(fields, cmd.ref);
  });
}

const server = smpp.createServer((session) => {
  sessions.add(session);
  session.mode = null;
  emit({event: 'connect'});

  for (const command of Object.keys(BINDS)) {
    session.on(command, (pdu) => {
      let status = 0;
      if (pdu.system_id !== args.systemId) status = smpp.ESME_RINVSYSID;
      else if (pdu.password !== args.password) status = smpp.ESME_RINVPASWD;
      if (status) {
        emit({event: 'bind_failed', mode: BINDS[command], system_id: pdu.system_id, command_status: status});
        session.send(pdu.response({command_status: status}));
        return;
      }
      session.mode = BINDS[command];
      session.send(pdu.response({system_id: 'node-smpp'}));
      emit({event: 'bound', mode: session.mode, system_id: pdu.system_id, system_type: pdu.system_type,
            interface_version: pdu.interface_version});
    });
  }

  session.on('submit_sm', (pdu) => {
    nextId += 1;
    const messageId = args.messageIds === 'hex' ? nextId.toString(16).toUpperCase() : String(nextId);
    const payload = Buffer.isBuffer(pdu.message_payload) ? pdu.message_payload : null;
    const octets = payload && payload.length ? payload : pdu.short_message;
    const event = {
      event: 'submit_sm', message_id: messageId, sequence_number: pdu.sequence_number,
      service_type: pdu.service_type,
      source_addr_ton: pdu.source_addr_ton, source_addr_npi: pdu.source_addr_npi, source_addr: pdu.source_addr,
      dest_addr_ton: pdu.dest_addr_ton, dest_addr_npi: pdu.dest_addr_npi, destination_addr: pdu.destination_addr,
      esm_class: pdu.esm_class, protocol_id: pdu.protocol_id, registered_delivery: pdu.registered_delivery,
      data_coding: pdu.data_coding,
      short_message: hex(pdu.short_message), message_payload: hex(payload),
      text: decodeText(pdu.data_coding, pdu.esm_class, octets),
      sar_msg_ref_num: pdu.sar_msg_ref_num === undefined ? null : pdu.sar_msg_ref_num,
      sar_total_segments: pdu.sar_total_segments === undefined ? null : pdu.sar_total_segments,
      sar_segment_seqnum: pdu.sar_segment_seqnum === undefined ? null : pdu.sar_segment_seqnum,
    };
    submits.set(messageId, Object.assign({}, event));
    session.send(pdu.response({message_id: messageId}));
    emit(event);
    if (args.autoReceipt && (pdu.registered_delivery & 0x03)) {
      sendReceipt(messageId, args.autoReceipt, '000', args.receiptForm, null);
    }
  });

  session.on('enquire_link', (pdu) => {
    session.send(pdu.response());
    emit({event: 'enquire_link', sequence_number: pdu.sequence_number});
  });
  session.on('unbind', (pdu) => {
    session.send(pdu.response());
    emit({event: 'unbind', mode: session.mode});
    session.close();
  });
  session.on('unbind_resp', () => emit({event: 'unbind_resp', mode: session.mode}));
  session.on('enquire_link_resp', () => emit({event: 'enquire_link_resp'}));
  session.on('generic_nack', (pdu) => emit({event: 'generic_nack', sequence_number: pdu.sequence_number,
                                            command_status: pdu.command_status}));
  session.on('unknown', (pdu) => {
    session.send(pdu.response());
    emit({event: 'unknown', command_id: pdu.command_id});
  });
  session.on('error', (err) => emit({event: 'error', message: String(err && err.message)}));
  session.on('close', () => {
    sessions.delete(session);
    emit({event: 'close', mode: session.mode});
  });
});

server.on('error', (err) => {
  emit({event: 'error', message: String(err && err.message)});
  process.exit(1);
});

server.listen(args.port, '127.0.0.1', () => {
  emit({event: 'listening', port: server.address().port, smpp_version: require('smpp/package.json').version});
});

const input = readline.createInterface({input: process.stdin});
input.on('line', (line) => {
  if (!line.trim()) return;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    emit({event: 'error', message: `bad command: ${line}`});
    return;
  }
  switch (cmd.cmd) {
    case 'receipt':
      sendReceipt(cmd.message_id, cmd.stat || 'DELIVRD', cmd.err || '000', cmd.form || 'text', cmd.ref);
      break;
    case 'mo':
      sendMo(cmd);
      break;
    case 'unbind':
      for (const s of sessions) s.unbind();
      break;
    case 'enquire_link':
      for (const s of sessions) s.enquire_link();
      break;
    case 'close':
      for (const s of sessions) s.destroy();
      break;
    case 'quit':
      quit();
      break;
    default:
      emit({event: 'error', ref: cmd.ref, message: `unknown command ${cmd.cmd}`});
  }
});
input.on('close', quit);

function quit() {
  for (const s of sessions) s.destroy();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}
