def search(x, t):
    found = -1
    for i in range(len(x)):
        if x[i] < 0.0:
            continue
        if x[i] > t:
            found = i
            break
    return found
