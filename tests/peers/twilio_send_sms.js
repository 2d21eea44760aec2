// An unchanged Node.js Twilio app: the npm `twilio` package, credentials from the environment.
// twilio-node sends through HTTP_PROXY when set and trusts NODE_EXTRA_CA_CERTS like all of Node.
// Usage: node twilio_send_sms.js FROM TO BODY; prints the message SID.
"use strict";

const twilio = require("twilio");

const [from, to, body] = process.argv.slice(2);
const client = twilio(process.env.TWILIO_ACCOUNT_SID, process.env.TWILIO_AUTH_TOKEN);
client.messages
  .create({ from, to, body })
  .then((message) => console.log(JSON.stringify({ sid: message.sid, status: message.status })))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
