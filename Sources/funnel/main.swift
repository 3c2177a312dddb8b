import ArgumentParser
import Foundation
import FunnelData

/// A command's error in words a person can act on (`ErrorText`), for errors that carry no such text themselves
/// (Foundation file errors, decoding errors).
struct ReadableError: Error, CustomStringConvertible {
    let description: String
}

var command: ParsableCommand
do { command = try Funnel.parseAsRoot() } catch { Funnel.exit(withError: error) }
do {
    // `funnel serve` runs on Swift concurrency; every other command is synchronous.
    if var asynchronous = command as? AsyncParsableCommand { try await asynchronous.run() } else { try command.run() }
} catch {
    let ownedByArgumentParser = error is ValidationError || error is CleanExit || error is ExitCode
    type(of: command).exit(withError: ownedByArgumentParser ? error : ReadableError(description: ErrorText.describe(error)))
}
