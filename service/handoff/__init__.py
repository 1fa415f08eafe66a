"""Human handoff: who answers a conversation (bot, waiting, agent, resolved), the agents' desk
that moves it between them, and the event bus that carries it live to agents and customers."""
