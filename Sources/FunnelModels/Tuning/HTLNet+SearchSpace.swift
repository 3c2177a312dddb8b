extension HTLNet {
    /// The generic space, with HTLNet's own gradient adjustment among the loss-balancing methods (htlnet.md §3.4).
    public static func searchSpace(adjusting derived: SearchSpace) -> SearchSpace {
        var space = derived
        if case .choice(var methods)? = space.dimensions["balancing"], !methods.contains(.string("htlnet")) {
            methods.append(.string("htlnet"))
            space.dimensions["balancing"] = .choice(methods)
        }
        return space
    }
}
