"""SendGrid's v3 Web API (email), reached as api.sendgrid.com, under /sendgrid, or at bare /v3/."""
