import ArgumentParser

await Funnel.main()
