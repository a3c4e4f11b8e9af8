#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Measures how much stack a piece of code uses: it runs the code on a thread of its own whose stack is painted
/// with a pattern beforehand, then finds the lowest byte the code overwrote.
public enum StackProbe {
    private final class Work: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    private static let pattern: UInt8 = 0xA5

    /// The most stack, in bytes, that `body` used on a fresh thread with a `size`-byte stack (with a guard page below).
    public static func peakUse(stackSize size: Int = 32 << 20, _ body: @escaping () -> Void) -> Int {
        let page = 4096
        let total = size + page
        guard let base = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), base != MAP_FAILED else {
            fatalError("mmap failed")
        }
        defer { munmap(base, total) }
        mprotect(base, page, PROT_NONE)
        let stack = base + page
        memset(stack, Int32(pattern), size)
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        pthread_attr_setstack(&attr, stack, size)
        let work = Unmanaged.passRetained(Work(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attr, { argument in
            let work = Unmanaged<Work>.fromOpaque(argument!).takeRetainedValue()
            work.body()
            return nil
        }, work)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        pthread_join(thread, nil)
        let bytes = stack.assumingMemoryBound(to: UInt8.self)
        var untouched = 0
        while untouched < size, bytes[untouched] == pattern { untouched += 1 }
        return size - untouched
    }

    /// The stack use per level of a walk: the difference of the peaks at two depths, divided by the difference.
    public static func perLevel(_ low: Int, _ high: Int, _ body: @escaping (Int) -> Void) -> Int {
        let a = peakUse { body(low) }
        let b = peakUse { body(high) }
        return (b - a) / (high - low)
    }

    /// The stack size of the calling thread, in bytes.
    public static func currentThreadStackSize() -> Int {
        // `pthread_getattr_np` is a GNU extension the Glibc module does not export; look it up by name.
        typealias GetAttr = @convention(c) (pthread_t, UnsafeMutablePointer<pthread_attr_t>) -> Int32
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "pthread_getattr_np") else { return 0 }
        let getattr = unsafeBitCast(symbol, to: GetAttr.self)
        var attr = pthread_attr_t()
        guard getattr(pthread_self(), &attr) == 0 else { return 0 }
        defer { pthread_attr_destroy(&attr) }
        var size = 0
        pthread_attr_getstacksize(&attr, &size)
        return size
    }
}
