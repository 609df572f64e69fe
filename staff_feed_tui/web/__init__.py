"""Reserved for `staff-feed serve` (a coming issue): the app in a browser through textual-serve, behind dispatcher
sign-in. A layer beside `delivery` and `gateway` in the import contracts; empty until then."""
