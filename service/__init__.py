"""The fusiondesk core and its adapters (installed as ``fusiondesk.service``).

Rooms: ``understanding/`` (parts → intent: router, executor, batching, fusion model),
``replies/`` (intent → reply: responder, domain, templates, knowledge base, webhooks),
``conversations/`` (history stores), ``training/``; the adapters ``api/`` (HTTP and WebSocket)
and ``cli/`` (the ``fusiondesk`` command) sit on top and nothing in the core imports them.
"""
