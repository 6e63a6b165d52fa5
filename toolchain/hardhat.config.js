// Hardhat network for `ledger/hardhat.py`: a second node implementation the chain tests run against.
// The launcher sets the chain id, hardfork and mining mode through the environment.
'use strict';
const env = process.env;
const interval = Number(env.PROVEX_HARDHAT_BLOCK_TIME || '0') * 1000;
const hardfork = env.PROVEX_HARDHAT_HARDFORK || 'cancun';
module.exports = {
  networks: {
    hardhat: {
      chainId: Number(env.PROVEX_HARDHAT_CHAIN_ID || '31337'),
      hardfork: hardfork === 'paris' ? 'merge' : hardfork, // Hardhat names Paris "merge"
      // The well-known dev mnemonic (the same ten accounts as Anvil's), 10,000 ETH each: dev chains only.
      accounts: { mnemonic: 'test test test test test test test test test test test junk', count: 10,
                  accountsBalance: '10000000000000000000000' },
      mining: interval === 0 ? { auto: true } : { auto: false, interval },
      loggingEnabled: false,
    },
  },
};
