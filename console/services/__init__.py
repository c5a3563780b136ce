"""The only writers of rows: one module per kind of record.

    accounts      users: register, change, guards, delete, logins and logouts
    api_tokens    API tokens: create, revoke, authenticate
    planets       the catalog: create, update, delete, archive, CSV import, seed, synthetic
    applications  mission applications: submit, withdraw, review
    sessions      stored login sessions: log in and out, end, the last-seen stamp
    two_factor    two-factor sign-in: enrol, codes, recovery codes, reset
    jobs          the job queue's records: enqueue, run, retry with backoff, sweep

The site, the console, the API and the CLI only translate their input into these calls and a
models.errors.DomainError back into their own answer; every change is audited (console.audit)
in the transaction that stores it.
"""
