from staff_feed_tui.cli import main

raise SystemExit(main())
