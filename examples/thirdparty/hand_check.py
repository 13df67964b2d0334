import mpmath as mp
mp.mp.prec = 600
FMT = {"fp64": (53, -1022), "fp32": (24, -126), "bf16": (8, -126), "fp16": (11, -14)}
def rn(y, f):
    p, emin = FMT[f]
    if y == 0: return mp.mpf(0)
    e = int(mp.floor(mp.log(abs(y), 2)))
    q = max(e, emin) - (p - 1)
    s = y / mp.mpf(2)**q
    n = mp.floor(s); r = s - n
    if r > 0.5 or (r == 0.5 and int(n) % 2 == 1): n += 1
    return n * mp.mpf(2)**q
def lse(x): m = max(x); return m + mp.log(mp.fsum(mp.exp(mp.mpf(v) - m) for v in x))
def show(name, y, f):
    r = rn(y, f)
    print("%-40s exact %s  RN_%s = %s = %s" % (name, mp.nstr(y, 20), f, mp.nstr(r, 20), float(r).hex()))
show("lse[1]", lse([1]), "fp64")
show("softmax([0,1000])? single row [1000]", mp.mpf(1), "fp64")
show("logsoftmax [0,-1000][1]", -1000 - lse([0,-1000]) + 0*0, "fp64")
x = [-88] + [0]*7
show("softmax fp32 [-88,0*7][0]", mp.exp(-88 - lse(x)), "fp32")
show("logsoftmax fp32 [-88,0*7][0]", -88 - lse(x), "fp32")
show("bf16 logsoftmax [2,-0.21875][0]", 2 - lse([2, mp.mpf(-0.21875)]), "bf16")
show("bf16 softmax 1000 zeros", mp.mpf(1)/1000, "bf16")
show("lse [0,-10]", lse([0,-10]), "fp64")
show("logsoftmax [0,-10][0]", 0 - lse([0,-10]), "fp64")
print("log2(2)=", mp.log(2))
