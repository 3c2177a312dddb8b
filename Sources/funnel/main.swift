import ArgumentParser

Funnel.main()
