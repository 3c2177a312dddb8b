import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one rule for every output Funnel writes (CLI and library): never replace or delete what Funnel did not
/// create. A destination may be replaced when it does not exist, when it is Funnel's own kind of artifact (a
/// directory holding its marker file), or — for plain files — when the caller passes `overwrite`. A directory
/// that is not Funnel's is never replaced, with or without `overwrite`. Every check also makes sure the location
/// is writable, so a command can run them before it starts working (`funnel train` before training).
public enum OutputGuard {
    /// Checks that a file may be written at `url`: not a directory, not one of `inputs` (same file, by inode), in
    /// a writable folder (created later if missing), and, when it exists, `overwrite` is set.
    public static func checkFile(_ url: URL, overwrite: Bool, inputs: [URL] = []) throws {
        let path = url.path
        var status = stat()
        if lstat(path, &status) == 0 {
            if (status.st_mode & S_IFMT) == S_IFDIR {
                throw OutputError(path: path, problem: "is a directory", remedy: "name a file to write")
            }
            for input in inputs {
                var other = stat()
                if stat(input.path, &other) == 0, other.st_dev == status.st_dev, other.st_ino == status.st_ino {
                    throw OutputError(path: path, problem: "is also the input \(input.path)", remedy: "write the output to another file")
                }
            }
            if !overwrite {
                throw OutputError(path: path, problem: "already exists", remedy: "pass --overwrite to replace it, or choose another file")
            }
            if access(path, W_OK) != 0 { throw OutputError.system(path, "opening for writing") }
        }
        try checkWritableFolder(of: url)
    }

    /// How a command uses an output directory.
    public enum DirectoryUse: Sendable {
        /// The directory is replaced as a whole (a checkpoint): an existing one must hold `marker`, or be empty.
        /// An existing plain file there is replaced only with `overwrite`.
        case replaced
        /// Files are written into the directory (comparison results, exports), nothing else in it is touched: an
        /// existing directory without `marker` that is not empty needs `overwrite`.
        case filled
    }

    /// Checks that the directory at `url` may be used as `use` for an artifact recognised by `marker` (a file
    /// name inside it, e.g. `checkpoint.json`; several alternatives may be given).
    public static func checkDirectory(_ url: URL, use: DirectoryUse, markers: [String], overwrite: Bool) throws {
        let path = url.standardizedFileURL.path
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: path, isDirectory: &isDirectory) else {
            try checkWritableFolder(of: url.standardizedFileURL)
            return
        }
        guard isDirectory.boolValue else {
            if use == .filled {
                throw OutputError(path: path, problem: "is a file, not a directory", remedy: "name a directory to write into")
            }
            if !overwrite {
                throw OutputError(path: path, problem: "exists and is a file, not a checkpoint directory",
                                  remedy: "pass --overwrite to replace it, or choose another path")
            }
            try checkWritableFolder(of: url.standardizedFileURL)
            return
        }
        let recognised = markers.contains { files.fileExists(atPath: url.appendingPathComponent($0).path) }
        let empty = ((try? files.contentsOfDirectory(atPath: path)) ?? ["?"]).isEmpty
        if !recognised && !empty {
            switch use {
            case .replaced:
                throw OutputError(path: path, problem: "is a directory Funnel did not write (no \(markers.joined(separator: " or ")))",
                                  remedy: "Funnel never replaces such a directory, even with --overwrite; choose a new or empty directory")
            case .filled where !overwrite:
                throw OutputError(path: path, problem: "is a non-empty directory Funnel did not write (no \(markers.joined(separator: " or ")))",
                                  remedy: "choose a new or empty directory, or pass --overwrite to write Funnel's files into it")
            case .filled:
                break
            }
        }
        if access(path, W_OK) != 0 { throw OutputError.system(path, "writing into the directory") }
        if use == .replaced { try checkWritableFolder(of: url.standardizedFileURL) }
    }

    /// Checks that the folder `url` goes into, or its nearest existing ancestor (the rest is created on writing),
    /// is a writable directory.
    public static func checkWritableFolder(of url: URL) throws {
        var folder = url.deletingLastPathComponent()
        let files = FileManager.default
        while !files.fileExists(atPath: folder.path), folder.path != "/" { folder = folder.deletingLastPathComponent() }
        var isDirectory: ObjCBool = false
        guard files.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw OutputError(path: url.path, problem: "\(folder.path) is a file, not a folder", remedy: "choose another location")
        }
        if access(folder.path, W_OK) != 0 { throw OutputError.system(folder.path, "writing into the folder of \(url.path)") }
    }
}
