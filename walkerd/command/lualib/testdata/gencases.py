# Regenerates cases.txt from bodies.lua against a real redis-server 7.0.15:
#   python3 gencases.py DIR PORT   (DIR: this testdata directory)
# Each body runs in prelude.lua through EVAL after SCRIPT FLUSH (a fresh
# Lua VM, so cjson settings a body changes do not leak into the next).
import socket, sys
def cmd(sock, f, *args):
    out = b'*%d\r\n' % len(args)
    for a in args:
        if isinstance(a, str): a = a.encode('latin-1')
        out += b'$%d\r\n%s\r\n' % (len(a), a)
    sock.sendall(out)
    line = f.readline()
    if line[:1] == b'$':
        n = int(line[1:])
        if n < 0: return 'NIL'
        data = f.read(n + 2)[:-2]
        return data.decode('latin-1')
    return line.decode('latin-1').rstrip('\r\n')
d = sys.argv[1]
prelude = open(d + '/prelude.lua', encoding='latin-1').read()
port = int(sys.argv[2]) if len(sys.argv) > 2 else 6379
s = socket.create_connection(('127.0.0.1', port)); f = s.makefile('rb')
out = []
for body in open(d + '/bodies.lua', encoding='latin-1').read().split('\n'):
    if not body.strip() or body.startswith('--'):
        if body.startswith('--'): out.append(body)
        continue
    assert cmd(s, f, 'SCRIPT', 'FLUSH') == '+OK'
    r = cmd(s, f, 'EVAL', prelude.replace('BODY', body), '0')
    out.append(body + '\n=> ' + r)
open(d + '/cases.txt', 'w', encoding='latin-1').write('\n'.join(out) + '\n')
