"""Wire protocol: `.proto` sources and the modules generated from them by `make proto`."""
