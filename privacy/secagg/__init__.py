"""Secure aggregation (Bonawitz et al. 2017) with a batched key setup ("session").

A session runs rounds 0-1 of the protocol once for a pool of ``K`` slots: each provider
advertises an X25519 encryption key ``c`` and K masking keys ``s^k``, then Shamir-shares (t of
n) its K mask keys and K fresh self-mask seeds ``b^k``, encrypting each peer's shares with
AES-GCM under ``HKDF(X25519(c_u, c_v))``. Every query then consumes one unused slot ``k``
and needs two rounds: masked input ``y_u = x_u + noise_u + PRG(b_u^k) + sum_{v>u} PRG(s_uv^k)
- sum_{v<u} PRG(s_uv^k)`` and unmasking, where each surviving provider reveals, for slot k
only, shares of ``b_v^k`` for providers that sent input and of ``s_v^k`` for those that did
not -- never both for the same (v, k). Since slots share no masking secrets, slot k is an
independent Bonawitz instance whose first two rounds were sent early; this is the security
argument for amortising key setup. Slots are single use on the provider side.

Modules: ``constants`` (wire names both halves use), ``coordinator`` and ``provider`` (the two
halves), ``unmask`` (checked unmasking: spare shares and check lanes), ``sessions`` (key-setup
sessions reused across queries), ``graph`` (complete or sparse masking graph), ``masks`` (mask keys
both derive), ``crypto`` (signed envelopes, X25519, AES-GCM), ``ring`` (packed vectors mod 2^k,
PRG), ``shamir`` (t-of-n sharing, Reed-Solomon consistency).
"""
