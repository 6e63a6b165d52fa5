"""Trading: offers, pricing, vouchers, orders, licenses, negotiations, statements, destruction."""
