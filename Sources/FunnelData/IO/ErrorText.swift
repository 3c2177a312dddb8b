import Foundation
import Yams

/// One line a person can act on for any error met while reading a configuration or file: a decoding error as
/// `at key.path: reason`, a YAML syntax error as `line L, column C: problem` (also when wrapped in a decoding
/// error), a file-system error as its plain reason with the path, never `NSCocoaErrorDomain` text. Every decoder
/// and reader that reports an underlying error goes through it.
public enum ErrorText {
    public static func describe(_ error: Error) -> String {
        switch error {
        case let error as DecodingError: return describe(error)
        case let error as YamlError: return describe(error)
        case let error as CocoaError: return describe(error)
        case let error as DataError: return error.description
        default:
            let text = "\(error)"
            if text.contains("NSCocoaErrorDomain") || text.contains("NSPOSIXErrorDomain") { return (error as NSError).localizedDescription }
            return text.replacingOccurrences(of: "\n", with: " ")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return keys.isEmpty ? "" : "at \(keys.dropFirst(keys.hasPrefix(".") ? 1 : 0)): "
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context))missing key '\(key.stringValue)'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            if let underlying = context.underlyingError as? YamlError { return path(context) + describe(underlying) }
            if let underlying = context.underlyingError as NSError?, underlying.domain == NSCocoaErrorDomain,
               let detail = underlying.userInfo[NSDebugDescriptionErrorKey] as? String {
                return "\(path(context))\(context.debugDescription) (\(detail))"
            }
            return "\(path(context))\(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    private static func describe(_ error: YamlError) -> String {
        func located(_ mark: Mark, _ context: YamlError.Context?, _ problem: String) -> String {
            "invalid YAML at line \(mark.line), column \(mark.column): " + (context.map { "\($0.text) (line \($0.mark.line)), " } ?? "") + problem
        }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            return located(mark, context, problem)
        default:
            return "invalid YAML: " + "\(error)".replacingOccurrences(of: "\n", with: " ")
        }
    }

    private static func describe(_ error: CocoaError) -> String {
        let path = (error.userInfo[NSFilePathErrorKey] as? String) ?? error.url?.path
        let reason: String
        switch error.code {
        case .fileNoSuchFile, .fileReadNoSuchFile: reason = "no such file; check the path"
        case .fileReadNoPermission, .fileWriteNoPermission: reason = "permission denied; check the file's permissions"
        case .fileWriteOutOfSpace: reason = "no space left on the device"
        case .fileReadCorruptFile: reason = "the file is not in the expected format"
        case .fileWriteFileExists: reason = "the file already exists"
        case .fileReadInapplicableStringEncoding: reason = "the file is not UTF-8 text"
        default: reason = error.localizedDescription
        }
        return path.map { "\($0): \(reason)" } ?? reason
    }
}
